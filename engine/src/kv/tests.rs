//! Block conservation under random allocate / append / free sequences.
use super::KvManager;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Append(u64, usize),
    Free(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u64..6, 1usize..40).prop_map(|(s, n)| Op::Append(s, n)),
        1 => (0u64..6).prop_map(Op::Free),
    ]
}

proptest! {
    #[test]
    fn blocks_are_conserved(ops in proptest::collection::vec(op(), 1..200)) {
        let mut kv = KvManager::new(24, 16);
        for o in ops {
            match o {
                Op::Append(s, n) => {
                    let before = (kv.free_blocks(), kv.seq_len(s));
                    let could = kv.can_append(s, n);
                    let res = kv.append(s, n);
                    prop_assert_eq!(could, res.is_ok());
                    if res.is_err() {
                        // all or nothing: a failed append changes nothing
                        prop_assert_eq!(before, (kv.free_blocks(), kv.seq_len(s)));
                    }
                }
                Op::Free(s) => kv.free(s),
            }
            prop_assert!(kv.check_conservation().is_ok(), "{:?}", kv.check_conservation());
            let u = kv.usage();
            prop_assert_eq!(u.used_blocks + kv.free_blocks(), u.total_blocks);
        }
    }
}

#[test]
fn out_of_blocks_is_a_typed_error() {
    let mut kv = KvManager::new(2, 4);
    kv.append(1, 8).unwrap();
    match kv.append(2, 1) {
        Err(crate::EngineError::OutOfBlocks {
            needed: 1,
            free: 0,
            total: 2,
        }) => {}
        other => panic!("unexpected {other:?}"),
    }
    kv.free(1);
    assert!(kv.append(2, 8).is_ok());
}
