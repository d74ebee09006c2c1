//! A request's end: its KV freed, its record made. Lean runs keep only what summaries need.
use super::Sim;
use crate::serve::events::Event;
use crate::serve::metrics::RequestRecord;
use crate::serve::request::ReqId;

impl Sim<'_> {
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
