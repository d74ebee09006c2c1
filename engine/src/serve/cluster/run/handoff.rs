//! Disaggregated hand-off: a prefilled request's KV blocks are copied into the pool of the
//! decode instance with the most free blocks, timed by the link model. When no decode instance
//! has room the request waits (holding its prefill-side blocks), first come first served; the
//! wait shows up as decode queueing in its latency breakdown.
use super::{Ev, Sim};
use crate::error::{EngineError, Result};
use crate::serve::events::Role;

impl Sim<'_> {
    pub(super) fn try_handoffs(&mut self) -> Result<()> {
        while let Some(&id) = self.handoff.front() {
            let r = &self.reqs[id as usize];
            let n = r.computed;
            let src = r.prefill_instance.ok_or_else(|| {
                EngineError::Internal("a hand-off without a prefill instance".into())
            })?;
            let fits = |d: &&super::Instance| {
                let kv = d.exec.kv();
                d.role == Role::Decode
                    && d.queues.running.len() + d.inbound < d.policy.max_seqs()
                    && kv.free_blocks() >= kv.blocks_needed(id, n)
            };
            let Some(dst) = self
                .inst
                .iter()
                .filter(fits)
                .max_by_key(|d| (d.exec.kv().free_blocks(), std::cmp::Reverse(d.index)))
                .map(|d| d.index)
            else {
                break;
            };
            self.handoff.pop_front();
            self.move_kv(id, n, src, dst)?;
            let bytes = n * self.kv_bytes_per_token;
            let start = self.now.max(self.link_free_at[src]);
            // Each GPU pair of the two instances carries its shard of the KV at once.
            let lanes = self.inst[src].tp.min(self.inst[dst].tp).max(1);
            let end = start + self.cfg.link.transfer_s(bytes.div_ceil(lanes));
            self.link_free_at[src] = end;
            let r = &mut self.reqs[id as usize];
            r.stamps.transfer_start_s = Some(start);
            r.stamps.transfer_end_s = Some(end);
            r.decode_instance = Some(dst);
            self.inst[dst].inbound += 1;
            self.push(
                end,
                Ev::TransferEnd {
                    req: id,
                    from: src,
                    to: dst,
                    bytes,
                },
            );
        }
        Ok(())
    }

    /// Reserves the request's `n` KV tokens in `dst`'s pool and copies its blocks there from
    /// `src` (modeled runs only reserve: there is nothing to copy). Instances of one run share
    /// one model, so a CPU/CUDA pair means a bug, reported as such.
    fn move_kv(&mut self, id: u64, n: usize, src: usize, dst: usize) -> Result<()> {
        use super::Executor;
        let (a, b) = if src < dst {
            let (l, r) = self.inst.split_at_mut(dst);
            (&l[src], &mut r[0])
        } else {
            let (l, r) = self.inst.split_at_mut(src);
            (&r[0], &mut l[dst])
        };
        match (&a.exec, &mut b.exec) {
            (Executor::Cpu(s), Executor::Cpu(d)) => {
                d.kv.append(id, n)?;
                let from = s.kv.block_table(id)?.to_vec();
                let to = d.kv.block_table(id)?.to_vec();
                d.store.copy_blocks_from(&s.store, &from, &to);
            }
            // transfer_to reserves the destination blocks itself (peer to peer across GPUs).
            (Executor::Cuda(s), Executor::Cuda(d)) => {
                s.transfer_to(id, d.as_mut(), id)?;
            }
            (Executor::Modeled(_), Executor::Modeled(d)) => d.append(id, n)?,
            _ => {
                return Err(EngineError::Internal(format!(
                    "KV hand-off of request {id} between instances on different devices"
                )))
            }
        }
        Ok(())
    }
}
