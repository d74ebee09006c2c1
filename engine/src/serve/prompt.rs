//! A request's prompt ids: held, or drawn again from a seed whenever they are needed. A step's
//! time does not depend on which ids a prompt holds, so a large generated workload (`lean`
//! runs) keeps 32 bytes per prompt instead of four per token, and the run materialises a
//! prompt only while its request is in flight.
use super::workload::random_prompt;
use rand::SeedableRng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;

#[derive(Clone, PartialEq)]
pub enum Prompt {
    Ids(Vec<u32>),
    /// `len` ids drawn from `seed` as `workload::random_prompt` draws them.
    Seeded {
        seed: u64,
        len: u32,
        vocab: u32,
        first_id: u32,
    },
}

impl Prompt {
    /// A seeded prompt of `len` ids in `[first_id, vocab)`.
    pub fn seeded(seed: u64, len: usize, vocab: usize, first_id: u32) -> Prompt {
        let small = |x: usize| x.min(u32::MAX as usize) as u32;
        Prompt::Seeded {
            seed,
            len: small(len),
            vocab: small(vocab),
            first_id,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Prompt::Ids(v) => v.len(),
            Prompt::Seeded { len, .. } => *len as usize,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids, borrowed when held.
    pub fn ids(&self) -> Cow<'_, [u32]> {
        match self {
            Prompt::Ids(v) => Cow::Borrowed(v),
            &Prompt::Seeded {
                seed,
                len,
                vocab,
                first_id,
            } => {
                let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
                let (len, vocab) = (len as usize, vocab as usize);
                Cow::Owned(random_prompt(&mut rng, len, vocab, first_id))
            }
        }
    }

    pub fn to_vec(&self) -> Vec<u32> {
        self.ids().into_owned()
    }
}

impl From<Vec<u32>> for Prompt {
    fn from(v: Vec<u32>) -> Self {
        Prompt::Ids(v)
    }
}

impl std::fmt::Debug for Prompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Prompt::Ids(v) => v.fmt(f),
            Prompt::Seeded { seed, len, .. } => write!(f, "Seeded({len} ids, seed {seed})"),
        }
    }
}

/// Written as its ids, whichever way it is held; read back as held ids.
impl Serialize for Prompt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.ids().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Prompt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<u32>::deserialize(d).map(Prompt::Ids)
    }
}

/// A seed per request from the workload's seed (splitmix64 of the pair), so a seeded prompt
/// does not take draws from the workload's own stream.
pub fn prompt_seed(workload_seed: u64, id: u64) -> u64 {
    let mut z = workload_seed ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_prompt_is_the_same_ids_every_time_and_reads_back_as_them() {
        let p = Prompt::seeded(prompt_seed(7, 3), 300, 1000, 17);
        let ids = p.to_vec();
        assert_eq!(ids.len(), 300);
        assert_eq!(p.ids(), ids.as_slice(), "drawn again, the same");
        assert!(ids.iter().all(|&t| (17..1000).contains(&t)));
        assert_ne!(
            ids,
            Prompt::seeded(prompt_seed(7, 4), 300, 1000, 17).to_vec()
        );
        let json = serde_json::to_string(&p).expect("json");
        let back: Prompt = serde_json::from_str(&json).expect("back");
        assert_eq!((back.len(), back.to_vec()), (300, ids));
        assert!(std::mem::size_of::<Prompt>() <= 32);
    }
}
