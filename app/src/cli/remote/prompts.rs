//! Prompt text of a requested token length. Every prompt starts with its own request number,
//! so a server's prefix cache cannot reuse one prompt for the next (vllm-project/vllm#52884:
//! a warm prefix cache inflated results by up to 86 %); `--shared-prefix-tokens` opts into a
//! common head on purpose.
use engine::model::tokenizer::Tokenizer as EngineTokenizer;
use std::path::Path;

/// Common English words, one token each (with their leading space) in most BPE vocabularies.
const WORDS: &[&str] = &[
    "the", "of", "and", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are",
    "as", "with", "his", "they", "at", "be", "this", "have", "from", "or", "one", "had", "by",
    "word", "but", "not", "what", "all", "were", "we", "when", "your", "can", "said", "there",
    "use", "an", "each", "which", "she", "do", "how", "their", "if", "will", "up", "other",
    "about", "out", "many", "then", "them", "these", "so", "some", "her", "would", "make", "like",
    "time", "has",
];

/// Endings tried when a word count lands one token off the target (the last word split in two).
const NUDGES: [&str; 6] = [" a", ".", ",", " I", "!", " x"];

/// Counts prompt tokens: a real tokenizer, or one word per token as an estimate.
pub enum TokenCounter {
    /// No tokenizer: words stand in for tokens.
    Words,
    /// A Hugging Face `tokenizer.json`.
    Hf(Box<tokenizers::Tokenizer>),
    /// A GGUF file or a model card (the engine's tokenizer).
    Engine(EngineTokenizer),
}

impl TokenCounter {
    /// `spec`: a `tokenizer.json`, a `.gguf`, or a model card name.
    pub fn load(spec: Option<&str>) -> anyhow::Result<TokenCounter> {
        let Some(s) = spec else {
            return Ok(TokenCounter::Words);
        };
        if s.ends_with(".json") || Path::new(s).is_dir() {
            let file = if Path::new(s).is_dir() {
                Path::new(s).join("tokenizer.json")
            } else {
                s.into()
            };
            let t = tokenizers::Tokenizer::from_file(&file)
                .map_err(|e| anyhow::anyhow!("--tokenizer {}: {e}", file.display()))?;
            return Ok(TokenCounter::Hf(Box::new(t)));
        }
        let t = engine::loader::load_tokenizer(s, false)
            .map_err(|e| anyhow::anyhow!("--tokenizer {s}: {e}"))?;
        Ok(TokenCounter::Engine(t))
    }

    /// Whether counts are real token counts.
    pub fn exact(&self) -> bool {
        !matches!(self, TokenCounter::Words)
    }

    /// Tokens of `text` without special tokens (the server adds its own BOS or template).
    pub fn count(&self, text: &str) -> usize {
        match self {
            TokenCounter::Words => text.split_whitespace().count(),
            TokenCounter::Hf(t) => t.encode(text, false).map_or(0, |e| e.get_ids().len()),
            TokenCounter::Engine(t) => t.encode(text).map_or(0, |ids| ids.len()),
        }
    }
}

/// `head` followed by `k` filler words starting at word `start`.
fn with_words(head: &str, start: usize, k: usize) -> String {
    let mut s = String::with_capacity(head.len() + k * 6);
    s.push_str(head);
    for i in 0..k {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(WORDS[(start + i) % WORDS.len()]);
    }
    s
}

/// Text of `target` tokens that starts with `head`, and its actual count: `target` exactly
/// when the counter can hit it, else the closest it found from below. Whole words first (how
/// many tokens a word takes is measured, not assumed: a byte tokenizer spends ~5 on one),
/// then short endings that add one token each.
pub fn fill(counter: &TokenCounter, head: &str, start: usize, target: usize) -> (String, usize) {
    let head_n = counter.count(head);
    if head_n >= target {
        return (head.to_string(), head_n);
    }
    let room = target - head_n;
    let probe = counter
        .count(&with_words(head, start, 16))
        .saturating_sub(head_n)
        .max(1);
    let mut k = room * 16 / probe;
    let mut n = counter.count(&with_words(head, start, k));
    // Too long: shrink in proportion (at least one word per try) until it fits.
    while n > target && k > 0 {
        let scaled = k * room / (n - head_n).max(1);
        k = scaled.min(k - 1);
        n = counter.count(&with_words(head, start, k));
    }
    // Room left: add words while they fit.
    loop {
        let more = counter.count(&with_words(head, start, k + 1));
        if more > target {
            break;
        }
        k += 1;
        n = more;
    }
    let mut text = with_words(head, start, k);
    // The last few tokens: an ending that adds exactly one, then any that still fits.
    while n < target {
        let next = NUDGES
            .iter()
            .map(|e| (format!("{text}{e}"), *e))
            .map(|(t, _)| {
                let c = counter.count(&t);
                (t, c)
            })
            .filter(|(_, c)| *c > n && *c <= target)
            .min_by_key(|(_, c)| *c);
        match next {
            Some((t, c)) => {
                text = t;
                n = c;
            }
            None => break,
        }
    }
    (text, n)
}

/// Builds the prompts of a run: the shared head (if any) then a unique `Request N:` head.
pub struct PromptBuilder {
    counter: TokenCounter,
    shared: String,
    shared_tokens: usize,
}

impl PromptBuilder {
    pub fn new(counter: TokenCounter, shared_prefix_tokens: usize) -> PromptBuilder {
        let (shared, shared_tokens) = if shared_prefix_tokens > 0 {
            fill(&counter, "Shared context:", 0, shared_prefix_tokens)
        } else {
            (String::new(), 0)
        };
        PromptBuilder {
            counter,
            shared,
            shared_tokens,
        }
    }

    pub fn exact(&self) -> bool {
        self.counter.exact()
    }

    /// Tokens of the shared prefix as built (0 without one).
    pub fn shared_tokens(&self) -> usize {
        self.shared_tokens
    }

    /// A prompt of `target` tokens labelled `label` (e.g. "Request 17"), and its count.
    pub fn prompt(&self, label: &str, id: u64, target: usize) -> (String, usize) {
        let sep = if self.shared.is_empty() { "" } else { " " };
        let head = format!("{}{sep}{label}:", self.shared);
        let start = (id as usize * 7) % WORDS.len();
        let (text, n) = fill(&self.counter, &head, start, target);
        if n > target && self.shared.is_empty() {
            // A tiny target: the number alone keeps the prompt unique with fewer tokens.
            let short = fill(&self.counter, &id.to_string(), start, target);
            if short.1.abs_diff(target) < n.abs_diff(target) {
                return short;
            }
        }
        (text, n)
    }

    /// The text of a prompt given as text (a trace line), and its count.
    pub fn given(&self, text: &str) -> (String, usize) {
        (text.to_string(), self.counter.count(text).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_counts_are_exact_for_words() {
        let b = PromptBuilder::new(TokenCounter::Words, 0);
        for n in [1, 2, 3, 10, 257] {
            let (text, got) = b.prompt("Request 17", 17, n);
            assert_eq!(got, n, "{text}");
            assert_eq!(text.split_whitespace().count(), n);
        }
        let (a, _) = b.prompt("Request 1", 1, 50);
        let (c, _) = b.prompt("Request 2", 2, 50);
        assert_ne!(a.split(' ').nth(1), c.split(' ').nth(1));
    }

    #[test]
    fn shared_prefix_is_common() {
        let b = PromptBuilder::new(TokenCounter::Words, 20);
        assert_eq!(b.shared_tokens(), 20);
        let (a, n) = b.prompt("Request 1", 1, 40);
        let (c, _) = b.prompt("Request 2", 2, 40);
        assert_eq!(n, 40);
        let common = a.chars().zip(c.chars()).take_while(|(x, y)| x == y).count();
        assert!(common >= b.shared.len(), "{a} / {c}");
    }
}
