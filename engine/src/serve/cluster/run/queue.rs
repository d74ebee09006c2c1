//! The event queue's entries: ordered by time, then by insertion, so ties resolve the same way
//! on every run.
use crate::serve::request::ReqId;
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy)]
pub(super) enum Ev {
    Arrival(ReqId),
    StepEnd(usize),
    TransferEnd {
        req: ReqId,
        from: usize,
        to: usize,
        bytes: usize,
    },
}

pub(super) struct Queued {
    pub t: f64,
    pub seq: u64,
    pub ev: Ev,
}

impl PartialEq for Queued {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Queued {
    // Reversed: BinaryHeap is a max-heap and the earliest event must come out first.
    fn cmp(&self, o: &Self) -> Ordering {
        o.t.total_cmp(&self.t).then(o.seq.cmp(&self.seq))
    }
}
