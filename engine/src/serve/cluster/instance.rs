//! One logical GPU: its queues, its KV pool, and how it executes a planned step — really (a
//! session over the shared model) or on paper (KV bookkeeping only, the cost model times it).
use crate::backend::cpu::session::Session;
use crate::backend::cuda::session::CudaSession;
use crate::backend::step::StepPart;
use crate::backend::step::StepSession;
use crate::error::{EngineError, Result};
use crate::kv::KvManager;
use crate::sampler::Sampler;
use crate::serve::cost_model::{CostModel, StepWork};
use crate::serve::events::{Role, StepRecord};
use crate::serve::request::Request;
use crate::serve::sched::{Plan, PlanItem, Policy, Queues};
use std::time::Instant;

/// What executes an instance's steps: a session on a device, or the cost model (which only
/// keeps the KV bookkeeping).
pub(crate) enum Executor<'m> {
    Cpu(Session<'m>),
    Cuda(Box<CudaSession<'m>>),
    Modeled(KvManager),
}

impl Executor<'_> {
    pub fn kv(&self) -> &KvManager {
        match self {
            Executor::Cpu(s) => &s.kv,
            Executor::Cuda(s) => &s.kv,
            Executor::Modeled(kv) => kv,
        }
    }

    pub fn kv_mut(&mut self) -> &mut KvManager {
        match self {
            Executor::Cpu(s) => &mut s.kv,
            Executor::Cuda(s) => &mut s.kv,
            Executor::Modeled(kv) => kv,
        }
    }
}

/// A step in flight: its results are applied when it ends.
pub(crate) struct Pending {
    pub items: Vec<PlanItem>,
    pub sampled: Vec<Option<u32>>,
    pub record: StepRecord,
}

pub(crate) struct Instance<'m> {
    pub index: usize,
    pub role: Role,
    pub policy: Policy,
    pub queues: Queues,
    pub exec: Executor<'m>,
    pub pending: Option<Pending>,
    /// KV transfers reserved into this instance and not yet arrived.
    pub inbound: usize,
    /// GPUs this instance spans (tensor parallelism; modeled clock only).
    pub tp: usize,
}

impl<'m> Instance<'m> {
    pub fn new(index: usize, role: Role, policy: Policy, exec: Executor<'m>, tp: usize) -> Self {
        Instance {
            index,
            role,
            policy,
            queues: Queues::default(),
            exec,
            pending: None,
            inbound: 0,
            tp,
        }
    }

    pub fn is_busy(&self) -> bool {
        self.pending.is_some()
    }

    /// Requests queued or running here (the least-loaded router's measure).
    pub fn load(&self) -> usize {
        self.queues.len() + self.inbound
    }

    /// What the plan asks of the hardware, from the requests' state before the step.
    pub fn shape(plan: &Plan, reqs: &[Request]) -> StepWork {
        let mut s = StepWork::default();
        for it in &plan.items {
            let r = &reqs[it.req as usize];
            let (start, n) = (r.computed, it.n_tokens);
            let pairs = n * start + n * (n + 1) / 2;
            if r.is_decoding() {
                s.decode_tokens += n;
            } else {
                s.prefill_tokens += n;
                s.prefill_attn_pairs += pairs;
                s.prefill_kv_tokens_read += start + n;
            }
            s.attn_pairs += pairs;
            s.kv_tokens_read += start + n;
            *s.lm_head_rows.get_or_insert(0) += usize::from(ends_sequence(it, reqs));
        }
        s
    }

    /// Runs (or models) the step; returns the sampled token of every item whose chunk ends its
    /// sequence, and the step's duration in seconds.
    pub fn execute(
        &mut self,
        plan: &Plan,
        shape: &StepWork,
        reqs: &[Request],
        samplers: &mut [Sampler],
        cost: Option<&CostModel>,
    ) -> Result<(Vec<Option<u32>>, f64)> {
        match &mut self.exec {
            Executor::Cpu(session) => real_step(session, plan, reqs, samplers),
            Executor::Cuda(session) => real_step(session.as_mut(), plan, reqs, samplers),
            Executor::Modeled(kv) => {
                let cost = cost.ok_or_else(|| {
                    EngineError::Internal("a modeled step without a cost model".into())
                })?;
                for it in &plan.items {
                    kv.append(it.req, it.n_tokens)?;
                }
                // Nothing is computed, so there are no real tokens: 0 stands in for each.
                let sampled = plan
                    .items
                    .iter()
                    .map(|it| ends_sequence(it, reqs).then_some(0))
                    .collect();
                Ok((sampled, cost.predict_tp_s(shape, self.tp)))
            }
        }
    }
}

/// Runs the plan on a real session (CPU or GPU); the step's duration is its wall time,
/// sampling included, as a serving engine would see it.
fn real_step(
    session: &mut dyn StepSession,
    plan: &Plan,
    reqs: &[Request],
    samplers: &mut [Sampler],
) -> Result<(Vec<Option<u32>>, f64)> {
    let ends = |it: &PlanItem| ends_sequence(it, reqs);
    let t0 = Instant::now();
    let parts: Vec<StepPart> = plan
        .items
        .iter()
        .map(|it| {
            let r = &reqs[it.req as usize];
            StepPart {
                seq: it.req,
                tokens: &r.tokens[r.computed..r.computed + it.n_tokens],
                want_logits: ends(it),
            }
        })
        .collect();
    let logits = session.step(&parts)?;
    let mut rows = logits.iter();
    let mut sampled = Vec::with_capacity(plan.items.len());
    for it in &plan.items {
        sampled.push(if ends(it) {
            let row = rows
                .next()
                .ok_or_else(|| EngineError::Internal("a step returned too few logits".into()))?;
            Some(samplers[it.req as usize].sample(row))
        } else {
            None
        });
    }
    Ok((sampled, t0.elapsed().as_secs_f64()))
}

/// Whether the item's chunk reaches the end of its request's tokens (so a token is sampled).
fn ends_sequence(it: &PlanItem, reqs: &[Request]) -> bool {
    let r = &reqs[it.req as usize];
    r.computed + it.n_tokens == r.tokens.len()
}
