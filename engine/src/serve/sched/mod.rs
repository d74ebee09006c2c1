//! Scheduling policies, all in the vLLM v1 shape: `schedule` looks at one instance's queues and
//! KV cache and emits a plan (which requests compute how many tokens this step); the results are
//! applied after the step runs. Policies never touch the model.
mod aggregated;
mod chunked;
#[cfg(test)]
mod tests;

use crate::kv::KvManager;
use crate::serve::request::{ReqId, Request};
use std::collections::VecDeque;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanItem {
    pub req: ReqId,
    pub n_tokens: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub items: Vec<PlanItem>,
    /// Requests whose KV was dropped to make room (recompute preemption).
    pub preempted: Vec<ReqId>,
}

impl Plan {
    pub fn tokens(&self) -> usize {
        self.items.iter().map(|i| i.n_tokens).sum()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Continuous batching, prefill-prioritized: waiting prompts are admitted whole into the
    /// step with the running decodes (Orca-style), or — with `prefill_only_steps` — into steps
    /// that pause the decodes (vLLM v0).
    Aggregated {
        max_batched_tokens: usize,
        max_seqs: usize,
        prefill_only_steps: bool,
    },
    /// Decodes first, then prefill chunks fill the rest of the token budget (Sarathi-Serve,
    /// vLLM v1).
    Chunked {
        token_budget: usize,
        max_seqs: usize,
        max_partial_prefills: usize,
    },
}

impl Policy {
    /// Most tokens one step may compute.
    pub fn token_limit(&self) -> usize {
        match *self {
            Policy::Aggregated {
                max_batched_tokens, ..
            } => max_batched_tokens,
            Policy::Chunked { token_budget, .. } => token_budget,
        }
    }

    /// Most requests an instance holds at once (chunked mode also keeps every running decode
    /// within the budget, so none is ever left out of a step).
    pub fn max_seqs(&self) -> usize {
        match *self {
            Policy::Aggregated { max_seqs, .. } => max_seqs,
            Policy::Chunked {
                token_budget,
                max_seqs,
                ..
            } => max_seqs.min(token_budget),
        }
    }
}

/// One instance's requests: `running` hold KV blocks here (in admission order), `waiting` do not.
#[derive(Debug, Clone, Default)]
pub struct Queues {
    pub running: Vec<ReqId>,
    pub waiting: VecDeque<ReqId>,
}

impl Queues {
    pub fn has_work(&self) -> bool {
        !self.running.is_empty() || !self.waiting.is_empty()
    }

    pub fn len(&self) -> usize {
        self.running.len() + self.waiting.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Plans the next step of one instance. May preempt (free KV of) running requests.
pub fn schedule(policy: &Policy, q: &mut Queues, reqs: &mut [Request], kv: &mut KvManager) -> Plan {
    let mut ctx = Ctx {
        q,
        reqs,
        kv,
        free: 0,
        plan: Plan::default(),
    };
    ctx.free = ctx.kv.free_blocks();
    match *policy {
        Policy::Aggregated {
            max_batched_tokens,
            max_seqs,
            prefill_only_steps,
        } => aggregated::plan(&mut ctx, max_batched_tokens, max_seqs, prefill_only_steps),
        Policy::Chunked {
            token_budget,
            max_partial_prefills,
            ..
        } => chunked::plan(
            &mut ctx,
            token_budget,
            policy.max_seqs(),
            max_partial_prefills,
        ),
    }
    ctx.plan
}

/// Planning state shared by the policies: a running tally of free blocks, so the plan always
/// fits the KV cache before anything is allocated.
pub(crate) struct Ctx<'a> {
    pub q: &'a mut Queues,
    pub reqs: &'a mut [Request],
    pub kv: &'a mut KvManager,
    pub free: usize,
    pub plan: Plan,
}

impl Ctx<'_> {
    pub fn req(&self, id: ReqId) -> &Request {
        &self.reqs[id as usize]
    }

    pub fn blocks_for(&self, id: ReqId, n: usize) -> usize {
        self.kv.blocks_needed(id, n)
    }

    /// Largest chunk (≤ `n`) of `id`'s remaining tokens that fits the free blocks.
    pub fn fitting_chunk(&self, id: ReqId, n: usize) -> usize {
        let bs = self.kv.block_size();
        let len = self.kv.seq_len(id);
        let room_in_last = len.div_ceil(bs) * bs - len;
        n.min(room_in_last + self.free * bs)
    }

    pub fn push(&mut self, id: ReqId, n: usize) {
        self.free -= self.blocks_for(id, n);
        self.plan.items.push(PlanItem {
            req: id,
            n_tokens: n,
        });
    }

    /// Preempts the most recently admitted running request, unless it is at index
    /// `keep_from` or earlier, or already in the plan. Returns false if none.
    pub fn preempt_last(&mut self, keep_from: usize) -> bool {
        if self.q.running.len() <= keep_from + 1 {
            return false;
        }
        let Some(&victim) = self.q.running.last() else {
            return false;
        };
        if self.plan.items.iter().any(|it| it.req == victim) {
            return false;
        }
        self.evict(self.q.running.len() - 1);
        true
    }

    /// Drops the KV of the running request at `index` (recompute preemption): it goes back to
    /// the front of the waiting queue and the free-block tally is recomputed.
    fn evict(&mut self, index: usize) {
        let id = self.q.running.remove(index);
        self.kv.free(id);
        self.free = self.kv.free_blocks() - self.planned_blocks();
        self.reqs[id as usize].preempt();
        self.q.waiting.push_front(id);
        self.plan.preempted.push(id);
    }

    fn planned_blocks(&self) -> usize {
        // Blocks already promised to planned items, recomputed after a free.
        self.plan
            .items
            .iter()
            .map(|i| self.kv.blocks_needed(i.req, i.n_tokens))
            .sum()
    }

    /// Plans one decode token for running request at `index`, preempting later-admitted
    /// requests for room. Returns false if even preempting cannot make room (it then
    /// preempts the request itself).
    pub fn plan_decode(&mut self, index: usize) -> bool {
        let id = self.q.running[index];
        while self.blocks_for(id, 1) > self.free {
            if !self.preempt_last(index) {
                self.evict(index);
                return false;
            }
        }
        self.push(id, 1);
        true
    }
}
