//! The shipped lessons, compiled into the binary so the workbench opens them from anywhere
//! (`lessons/` is read instead when a learner or author points at it).
use super::format::{parse, LessonFile};
use super::Problem;
use std::path::Path;

const FILES: [(&str, &str); 8] = [
    (
        "01-goodput.ron",
        include_str!("../../../lessons/01-goodput.ron"),
    ),
    (
        "02-compute-vs-memory.ron",
        include_str!("../../../lessons/02-compute-vs-memory.ron"),
    ),
    (
        "03-batching-kv.ron",
        include_str!("../../../lessons/03-batching-kv.ron"),
    ),
    (
        "04-interference.ron",
        include_str!("../../../lessons/04-interference.ron"),
    ),
    (
        "05-chunked-prefill.ron",
        include_str!("../../../lessons/05-chunked-prefill.ron"),
    ),
    (
        "06-disaggregation.ron",
        include_str!("../../../lessons/06-disaggregation.ron"),
    ),
    (
        "07-pd-ratio.ron",
        include_str!("../../../lessons/07-pd-ratio.ron"),
    ),
    (
        "08-when-not.ron",
        include_str!("../../../lessons/08-when-not.ron"),
    ),
];

/// Every shipped lesson in order, parsed; a malformed one is its problems.
pub fn embedded() -> Vec<Result<LessonFile, Vec<Problem>>> {
    FILES
        .iter()
        .map(|(name, text)| parse(&Path::new("lessons").join(name), text))
        .collect()
}

/// File names of the shipped lessons (a test keeps them equal to `lessons/`).
pub fn embedded_names() -> Vec<&'static str> {
    FILES.iter().map(|(n, _)| *n).collect()
}
