//! How many measured runs a benchmark was asked for, as its result records it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The runs a benchmark was asked for: a count or a rule. Written as result files have always
/// held it: the count as a number, the rules as `"adaptive"` and `"for 30s"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Written", into = "Written")]
pub enum RunsAsked {
    /// Exactly this many (`--runs N`).
    Exactly(u64),
    /// At least 10 runs and 3 s, the default.
    Adaptive,
    /// Until this much time has passed (`calibrate --time`).
    For(Duration),
}

impl RunsAsked {
    /// The count, when a count was asked for.
    pub fn exactly(self) -> Option<u64> {
        match self {
            RunsAsked::Exactly(n) => Some(n),
            _ => None,
        }
    }
}

/// The form in a result file.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Written {
    Count(u64),
    Rule(String),
}

impl From<RunsAsked> for Written {
    fn from(runs: RunsAsked) -> Written {
        match runs {
            RunsAsked::Exactly(n) => Written::Count(n),
            RunsAsked::Adaptive => Written::Rule("adaptive".into()),
            RunsAsked::For(wall) => Written::Rule(format!("for {}", humantime::format_duration(wall))),
        }
    }
}

impl TryFrom<Written> for RunsAsked {
    type Error = String;

    fn try_from(written: Written) -> Result<RunsAsked, String> {
        match written {
            Written::Count(n) => Ok(RunsAsked::Exactly(n)),
            Written::Rule(rule) if rule == "adaptive" => Ok(RunsAsked::Adaptive),
            Written::Rule(rule) => rule
                .strip_prefix("for ")
                .and_then(|wall| humantime::parse_duration(wall).ok())
                .map(RunsAsked::For)
                .ok_or_else(|| format!("`runs` is a count, \"adaptive\" or \"for <duration>\", not {rule:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_written_as_a_number_or_the_rules_name() {
        let cases = [
            (RunsAsked::Exactly(30), serde_json::json!(30)),
            (RunsAsked::Adaptive, serde_json::json!("adaptive")),
            (RunsAsked::For(Duration::from_secs(90)), serde_json::json!("for 1m 30s")),
        ];
        for (runs, written) in cases {
            assert_eq!(serde_json::to_value(runs).unwrap(), written);
            assert_eq!(serde_json::from_value::<RunsAsked>(written).unwrap(), runs);
        }
        let err = serde_json::from_value::<RunsAsked>(serde_json::json!("often")).unwrap_err().to_string();
        assert!(err.contains("not \"often\""), "{err}");
        assert_eq!(RunsAsked::Exactly(7).exactly(), Some(7));
        assert_eq!(RunsAsked::Adaptive.exactly(), None);
    }
}
