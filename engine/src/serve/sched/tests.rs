use super::*;
use crate::serve::request::RequestSpec;
use proptest::prelude::*;

fn reqs(prompts: &[usize], out: usize) -> Vec<Request> {
    prompts
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            Request::new(&RequestSpec {
                id: i as u64,
                arrival_s: 0.0,
                prompt: vec![1; p].into(),
                output_tokens: out,
            })
        })
        .collect()
}

/// Applies a plan the way the cluster does: KV appended, tokens computed, one token sampled
/// when a chunk ends its sequence; finished requests leave.
fn apply(plan: &Plan, q: &mut Queues, rs: &mut [Request], kv: &mut KvManager) {
    for it in &plan.items {
        kv.append(it.req, it.n_tokens)
            .expect("plan fits the KV cache");
        let r = &mut rs[it.req as usize];
        r.computed += it.n_tokens;
        if r.computed == r.tokens.len() {
            r.tokens.push(7);
            if r.is_finished() {
                q.running.retain(|&x| x != it.req);
                kv.free(it.req);
            }
        }
    }
}

const CHUNKED: Policy = Policy::Chunked {
    token_budget: 64,
    max_seqs: 8,
    max_partial_prefills: 1,
};

#[test]
fn chunked_puts_decodes_first_and_chunks_the_prompt() {
    let mut rs = reqs(&[40, 100], 3);
    let mut kv = KvManager::new(64, 16);
    let mut q = Queues {
        running: vec![],
        waiting: [0, 1].into(),
    };
    let p1 = schedule(&CHUNKED, &mut q, &mut rs, &mut kv);
    // Only one partial prefill at a time: request 0 whole (40), request 1 waits.
    assert_eq!(
        p1.items,
        vec![PlanItem {
            req: 0,
            n_tokens: 40
        }]
    );
    apply(&p1, &mut q, &mut rs, &mut kv);
    let p2 = schedule(&CHUNKED, &mut q, &mut rs, &mut kv);
    assert_eq!(
        p2.items,
        vec![
            PlanItem {
                req: 0,
                n_tokens: 1
            },
            PlanItem {
                req: 1,
                n_tokens: 63
            }
        ]
    );
    apply(&p2, &mut q, &mut rs, &mut kv);
    let p3 = schedule(&CHUNKED, &mut q, &mut rs, &mut kv);
    assert_eq!(
        p3.items,
        vec![
            PlanItem {
                req: 0,
                n_tokens: 1
            },
            PlanItem {
                req: 1,
                n_tokens: 37
            }
        ]
    );
}

#[test]
fn aggregated_admits_whole_prompts_with_the_decodes() {
    let pol = Policy::Aggregated {
        max_batched_tokens: 128,
        max_seqs: 8,
        prefill_only_steps: false,
    };
    let mut rs = reqs(&[40, 100, 30], 3);
    let mut kv = KvManager::new(64, 16);
    let mut q = Queues {
        running: vec![],
        waiting: [0, 1, 2].into(),
    };
    let p1 = schedule(&pol, &mut q, &mut rs, &mut kv);
    // 40 fits, 100 does not fit the remaining 88 and arrival order is kept.
    assert_eq!(
        p1.items,
        vec![PlanItem {
            req: 0,
            n_tokens: 40
        }]
    );
    apply(&p1, &mut q, &mut rs, &mut kv);
    let p2 = schedule(&pol, &mut q, &mut rs, &mut kv);
    assert_eq!(
        p2.items,
        vec![
            PlanItem {
                req: 0,
                n_tokens: 1
            },
            PlanItem {
                req: 1,
                n_tokens: 100
            }
        ]
    );
}

#[test]
fn prefill_only_steps_pause_decodes() {
    let pol = Policy::Aggregated {
        max_batched_tokens: 128,
        max_seqs: 8,
        prefill_only_steps: true,
    };
    let mut rs = reqs(&[40, 100], 3);
    let mut kv = KvManager::new(64, 16);
    let mut q = Queues {
        running: vec![],
        waiting: [0].into(),
    };
    apply(
        &schedule(&pol, &mut q, &mut rs, &mut kv),
        &mut q,
        &mut rs,
        &mut kv,
    );
    q.waiting.push_back(1);
    let p = schedule(&pol, &mut q, &mut rs, &mut kv);
    assert_eq!(
        p.items,
        vec![PlanItem {
            req: 1,
            n_tokens: 100
        }]
    );
}

#[test]
fn a_full_cache_preempts_the_latest_request() {
    // 4 blocks of 4 tokens: two requests of 8 fill it; the first decode needs a 5th block.
    let pol = Policy::Aggregated {
        max_batched_tokens: 64,
        max_seqs: 8,
        prefill_only_steps: false,
    };
    let mut rs = reqs(&[8, 8], 4);
    let mut kv = KvManager::new(4, 4);
    let mut q = Queues {
        running: vec![],
        waiting: [0, 1].into(),
    };
    apply(
        &schedule(&pol, &mut q, &mut rs, &mut kv),
        &mut q,
        &mut rs,
        &mut kv,
    );
    let p = schedule(&pol, &mut q, &mut rs, &mut kv);
    assert_eq!(p.preempted, vec![1]);
    assert_eq!(
        p.items,
        vec![PlanItem {
            req: 0,
            n_tokens: 1
        }]
    );
    assert_eq!(rs[1].computed, 0);
    assert_eq!(rs[1].preemptions, 1);
    assert_eq!(q.waiting.front(), Some(&1));
    kv.check_conservation().unwrap();
}

proptest! {
    /// Random workloads through either policy: the plan never exceeds the token budget or
    /// the KV cache, chunked mode never leaves a decoding request out, blocks are conserved,
    /// and every request finishes.
    #[test]
    fn invariants_hold(prompts in prop::collection::vec(1usize..90, 1..12), out in 1usize..6,
                       chunked in any::<bool>(), blocks in 12usize..40) {
        let pol = if chunked {
            Policy::Chunked { token_budget: 32, max_seqs: 6, max_partial_prefills: 2 }
        } else {
            Policy::Aggregated { max_batched_tokens: 100, max_seqs: 6, prefill_only_steps: false }
        };
        let mut rs = reqs(&prompts, out);
        let mut kv = KvManager::new(blocks, 8);
        let mut q = Queues { running: vec![], waiting: (0..prompts.len() as u64).collect() };
        for _ in 0..2000 {
            if q.is_empty() { break; }
            let decoding: Vec<u64> = q.running.iter().copied().filter(|&i| rs[i as usize].is_decoding()).collect();
            let p = schedule(&pol, &mut q, &mut rs, &mut kv);
            prop_assert!(p.tokens() <= pol.token_limit());
            prop_assert!(!p.items.is_empty(), "idle with work: {:?}", q);
            if chunked {
                for d in decoding {
                    prop_assert!(p.items.iter().any(|it| it.req == d) || p.preempted.contains(&d));
                }
            }
            apply(&p, &mut q, &mut rs, &mut kv);
            prop_assert!(kv.check_conservation().is_ok());
        }
        prop_assert!(q.is_empty());
        prop_assert!(rs.iter().all(|r| r.generated() == out));
        prop_assert_eq!(kv.free_blocks(), blocks);
    }
}
