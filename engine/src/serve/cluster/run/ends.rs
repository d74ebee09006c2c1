//! Ends: a step's (its tokens applied, finished requests retired, hand-offs tried) and a
//! request's (its KV freed, its record made; lean runs keep only what summaries need).
use super::Sim;
use crate::error::Result;
use crate::serve::events::{Event, Role};
use crate::serve::metrics::RequestRecord;
use crate::serve::request::ReqId;

impl Sim<'_> {
    pub(super) fn end_step(&mut self, i: usize) -> Result<()> {
        let Some(p) = self.inst[i].pending.take() else {
            return Ok(());
        };
        let end = p.record.end_s;
        for (it, tok) in p.items.iter().zip(&p.sampled) {
            let r = &mut self.reqs[it.req as usize];
            r.computed += it.n_tokens;
            let Some(tok) = *tok else { continue };
            r.tokens.push(tok);
            r.token_times_s.push(end);
            if r.stop_at_eos.unwrap_or(self.cfg.stop_at_eos) && self.inp.stop_ids.contains(&tok) {
                r.stopped_early = true;
            }
            let index = r.generated() - 1;
            let finished = r.is_finished();
            self.emit(Event::Token {
                req: it.req,
                index,
                token: tok,
                t_s: end,
            });
            if finished {
                self.finish(i, it.req);
            } else if self.inst[i].role == Role::Prefill {
                self.inst[i].queues.running.retain(|&x| x != it.req);
                self.handoff.push_back(it.req);
            }
        }
        if !self.inp.lean {
            self.emit(Event::StepDone(p.record.clone()));
            self.steps.push(p.record);
        }
        self.try_handoffs()
    }

    pub(super) fn finish(&mut self, i: usize, id: ReqId) {
        self.inst[i].queues.running.retain(|&x| x != id);
        self.inst[i].exec.kv_mut().free(id);
        let mut rec = RequestRecord::from_request(&self.reqs[id as usize]);
        if self.inp.lean {
            // A finished request is never read again: drop its token ids too, leaving an
            // empty request that still counts as finished (0 of 0 tokens generated).
            let r = &mut self.reqs[id as usize];
            r.tokens = Vec::new();
            (r.prompt_len, r.output_tokens, r.computed) = (0, 0, 0);
            let t = std::mem::take(&mut r.token_times_s);
            rec.token_times_s = match t.as_slice() {
                [] | [_] => t,
                [first, .., last] => vec![*first, *last],
            };
            rec.itl_ms = Vec::new();
        }
        self.emit(Event::Finished(Box::new(rec.clone())));
        self.done.push(rec);
    }
}
