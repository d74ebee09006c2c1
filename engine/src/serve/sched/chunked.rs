//! Chunked prefill (Sarathi-Serve, vLLM v1): every running decode gets its token first, then
//! prefill chunks fill what is left of the token budget — the budget bounds how long any step,
//! and so any decode's wait, can be.
use super::Ctx;

pub(crate) fn plan(ctx: &mut Ctx, budget: usize, max_seqs: usize, max_partial: usize) {
    // 1. Decodes. Admission keeps running ≤ max_seqs ≤ budget, so they always fit.
    let mut i = 0;
    while i < ctx.q.running.len() {
        let id = ctx.q.running[i];
        if ctx.req(id).is_decoding() && !ctx.plan_decode(i) {
            break;
        }
        i += 1;
    }
    let mut left = budget - ctx.plan.tokens().min(budget);
    // 2. Prefills already under way (admitted in an earlier step), in admission order.
    let mut i = 0;
    while i < ctx.q.running.len() && left > 0 {
        let id = ctx.q.running[i];
        if ctx.req(id).is_decoding() {
            i += 1;
            continue;
        }
        let mut chunk = ctx.fitting_chunk(id, ctx.req(id).remaining().min(left));
        while chunk == 0 && ctx.preempt_last(i) {
            chunk = ctx.fitting_chunk(id, ctx.req(id).remaining().min(left));
        }
        if chunk == 0 {
            break;
        }
        ctx.push(id, chunk);
        left -= chunk;
        i += 1;
    }
    // 3. New prompts, while the partial-prefill limit allows.
    let mut partial = ctx
        .q
        .running
        .iter()
        .filter(|&&id| !ctx.req(id).is_decoding())
        .count();
    while let Some(&w) = ctx.q.waiting.front() {
        if left == 0 || partial >= max_partial || ctx.q.running.len() >= max_seqs {
            break;
        }
        let chunk = ctx.fitting_chunk(w, ctx.req(w).remaining().min(left));
        if chunk == 0 {
            break;
        }
        ctx.q.waiting.pop_front();
        ctx.q.running.push(w);
        ctx.push(w, chunk);
        left -= chunk;
        partial += 1;
    }
}
