//! Aggregated continuous batching, prefill-prioritized. Prompts are admitted whole, in arrival
//! order, as long as the step's token budget, the sequence limit and the KV cache allow.
use super::Ctx;

pub(crate) fn plan(ctx: &mut Ctx, max_batched_tokens: usize, max_seqs: usize, prefill_only: bool) {
    if prefill_only {
        // vLLM v0: a step that admits prompts runs only prompts; decodes wait for the next.
        admit_whole(ctx, max_batched_tokens, max_seqs);
        if ctx.plan.items.is_empty() {
            decodes(ctx);
        }
    } else {
        decodes(ctx);
        let used = ctx.plan.tokens();
        admit_whole(
            ctx,
            max_batched_tokens - used.min(max_batched_tokens),
            max_seqs,
        );
    }
}

/// One token for every running request (all of them are decoding: prompts enter whole).
fn decodes(ctx: &mut Ctx) {
    let mut i = 0;
    while i < ctx.q.running.len() {
        if !ctx.plan_decode(i) {
            break;
        }
        i += 1;
    }
}

fn admit_whole(ctx: &mut Ctx, mut budget: usize, max_seqs: usize) {
    while let Some(&w) = ctx.q.waiting.front() {
        let n = ctx.req(w).remaining();
        if n > budget || ctx.q.running.len() >= max_seqs || ctx.blocks_for(w, n) > ctx.free {
            break;
        }
        ctx.q.waiting.pop_front();
        ctx.q.running.push(w);
        ctx.push(w, n);
        budget -= n;
    }
}
