//! Named scenarios: experiments in `engine/scenarios/*.ron`, embedded like the model cards so
//! the binary works from any folder. What is tight on an H100 is impossible on a 2-core CPU, so
//! each device kind has its own; the CPU ones state their rate and SLOs relative to this
//! machine's measured step times (`fit`), so the contrast shows on any computer.
use super::Experiment;
use crate::error::{EngineError, Result};

const EMBEDDED: &[(&str, &str)] = &[
    (
        "cpu-chat.ron",
        include_str!("../../../scenarios/cpu-chat.ron"),
    ),
    (
        "cpu-long-prompts.ron",
        include_str!("../../../scenarios/cpu-long-prompts.ron"),
    ),
    (
        "tiny-quick.ron",
        include_str!("../../../scenarios/tiny-quick.ron"),
    ),
    (
        "h100-chat-13b.ron",
        include_str!("../../../scenarios/h100-chat-13b.ron"),
    ),
    (
        "h100-summarization-13b.ron",
        include_str!("../../../scenarios/h100-summarization-13b.ron"),
    ),
];

/// Every built-in scenario, in a stable order. A file that does not parse is an error naming
/// it (a test parses them all, so a release never has one).
pub fn scenarios() -> Result<Vec<Experiment>> {
    EMBEDDED
        .iter()
        .map(|(file, text)| Experiment::from_ron(&format!("scenarios/{file}"), text))
        .collect()
}

pub fn scenario(name: &str) -> Result<Experiment> {
    let all = scenarios()?;
    let names: Vec<String> = all.iter().map(|s| s.name.clone()).collect();
    all.into_iter().find(|s| s.name == name).ok_or_else(|| {
        EngineError::field(
            "scenario",
            format!("{name:?}: known scenarios are {}", names.join(", ")),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_parses_checks_and_round_trips() {
        let all = scenarios().unwrap();
        assert_eq!(all.len(), EMBEDDED.len());
        for (s, (file, _)) in all.iter().zip(EMBEDDED) {
            assert_eq!(format!("{}.ron", s.name), *file);
            s.check().unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(!s.sweep.rates.is_empty(), "{file} has no sweep rates");
            let back = Experiment::from_ron(file, &s.to_ron().unwrap()).unwrap();
            assert_eq!(&back, s, "{file} does not round-trip");
        }
        let e = scenario("nope").unwrap_err().to_string();
        assert!(e.starts_with("scenario: ") && e.contains("cpu-chat"), "{e}");
    }
}
