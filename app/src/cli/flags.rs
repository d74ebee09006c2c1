//! The engine names a bad setting by its field in `Experiment` (`sched.token_budget`); the
//! command line says which flag sets it, so a user can fix the command they typed.
use engine::EngineError;

/// The flag that sets an engine field.
pub fn flag_for(field: &str) -> String {
    let special = match field {
        "workload.rate" => Some("--request-rate"),
        "sweep.slo_scale_rate" => Some("--request-rate"),
        "decode_batches" => Some("--decode-batch"),
        "prefill_lens" => Some("--prefill-len"),
        _ => None,
    };
    if let Some(f) = special {
        return f.into();
    }
    let (group, last) = field.rsplit_once('.').unwrap_or(("", field));
    let prefix = if group == "slo" { "slo-" } else { "" };
    format!("--{prefix}{}", last.replace('_', "-"))
}

/// An error as the command line shows it: a bad field as its flag (and the field, which is
/// what an experiment file spells), anything else with its causes.
pub fn describe(e: &anyhow::Error) -> String {
    if let Some(EngineError::Field { field, reason }) = e.downcast_ref::<EngineError>() {
        if field.starts_with("fit") {
            return format!("{field} (the scenario's machine fit): {reason}");
        }
        return format!("{} ({field}): {reason}", flag_for(field));
    }
    format!("{e:#}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_map_to_their_flags() {
        for (field, flag) in [
            ("workload.rate", "--request-rate"),
            ("slo.tpot_ms", "--slo-tpot-ms"),
            ("sched.token_budget", "--token-budget"),
            ("sampling.top_p", "--top-p"),
            ("pd", "--pd"),
            ("workload.prompt_len", "--prompt-len"),
            ("sweep.rates", "--rates"),
        ] {
            assert_eq!(flag_for(field), flag);
        }
        let e = anyhow::Error::from(EngineError::field("sched.kv_tokens", "too small"));
        assert_eq!(describe(&e), "--kv-tokens (sched.kv_tokens): too small");
    }
}
