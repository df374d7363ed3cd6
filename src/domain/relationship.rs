//! Relationship metrics between the bot and one member, and the rules that move them.
//!
//! Ranges are enforced by the types: a `Relationship` cannot hold an out-of-range value,
//! so the store, the admin commands and the post-exchange judgement share one check.
//! The database repeats the same bounds as CHECK constraints.

use std::fmt;
use std::str::FromStr;

use super::json::{ParseError, as_integer, extract_object};

/// Which of the four metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    Anger,
    Rapport,
    Trust,
    Formality,
}

impl Metric {
    pub const ALL: [Metric; 4] = [
        Metric::Anger,
        Metric::Rapport,
        Metric::Trust,
        Metric::Formality,
    ];

    /// Inclusive bounds of the metric.
    pub fn range(self) -> (i16, i16) {
        match self {
            Metric::Anger | Metric::Rapport | Metric::Trust => (0, 10),
            Metric::Formality => (-5, 5),
        }
    }

    /// Value for someone the bot has never met.
    pub fn neutral(self) -> i16 {
        match self {
            Metric::Anger => 0,
            Metric::Rapport | Metric::Trust => 5,
            Metric::Formality => 0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Metric::Anger => "anger",
            Metric::Rapport => "rapport",
            Metric::Trust => "trust",
            Metric::Formality => "formality",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Metric {
    type Err = RelationshipError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "anger" => Ok(Metric::Anger),
            "rapport" => Ok(Metric::Rapport),
            "trust" => Ok(Metric::Trust),
            "formality" => Ok(Metric::Formality),
            other => Err(RelationshipError::UnknownMetric(other.to_owned())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelationshipError {
    #[error("{metric} must be between {min} and {max}, got {value}")]
    OutOfRange {
        metric: Metric,
        value: i64,
        min: i16,
        max: i16,
    },
    #[error("unknown metric `{0}` (expected anger, rapport, trust or formality)")]
    UnknownMetric(String),
}

/// Validates a raw value for a metric.
pub fn checked(metric: Metric, value: i64) -> Result<i16, RelationshipError> {
    let (min, max) = metric.range();
    if value < i64::from(min) || value > i64::from(max) {
        return Err(RelationshipError::OutOfRange {
            metric,
            value,
            min,
            max,
        });
    }
    // In range, so it fits in i16.
    Ok(value as i16)
}

/// The four metrics for one member. Fields are private so every value went through `checked`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Relationship {
    anger: i16,
    rapport: i16,
    trust: i16,
    formality: i16,
}

impl Default for Relationship {
    fn default() -> Self {
        Self {
            anger: Metric::Anger.neutral(),
            rapport: Metric::Rapport.neutral(),
            trust: Metric::Trust.neutral(),
            formality: Metric::Formality.neutral(),
        }
    }
}

impl Relationship {
    pub fn new(
        anger: i64,
        rapport: i64,
        trust: i64,
        formality: i64,
    ) -> Result<Self, RelationshipError> {
        Ok(Self {
            anger: checked(Metric::Anger, anger)?,
            rapport: checked(Metric::Rapport, rapport)?,
            trust: checked(Metric::Trust, trust)?,
            formality: checked(Metric::Formality, formality)?,
        })
    }

    pub fn get(&self, metric: Metric) -> i16 {
        match metric {
            Metric::Anger => self.anger,
            Metric::Rapport => self.rapport,
            Metric::Trust => self.trust,
            Metric::Formality => self.formality,
        }
    }

    /// Returns a copy with one metric set, refusing out-of-range values.
    pub fn with(mut self, metric: Metric, value: i64) -> Result<Self, RelationshipError> {
        let v = checked(metric, value)?;
        match metric {
            Metric::Anger => self.anger = v,
            Metric::Rapport => self.rapport = v,
            Metric::Trust => self.trust = v,
            Metric::Formality => self.formality = v,
        }
        Ok(self)
    }

    /// Moves a metric by `delta`, limited to `max_step` per exchange and clamped to the range.
    /// Returns the new relationship and the value actually applied.
    pub fn nudged(self, metric: Metric, delta: i64, max_step: i64) -> (Self, i16) {
        let step = delta.clamp(-max_step.abs(), max_step.abs());
        let (min, max) = metric.range();
        let target = (i64::from(self.get(metric)) + step).clamp(i64::from(min), i64::from(max));
        // `target` is clamped to the metric's range, so `with` cannot fail.
        let next = self.with(metric, target).unwrap_or(self);
        (next, next.get(metric))
    }
}

/// One recorded change, with why it happened.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RelationshipChange {
    pub metric: Metric,
    pub old_value: i16,
    pub new_value: i16,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_out_of_range() {
        assert!(Relationship::new(11, 5, 5, 0).is_err());
        assert!(Relationship::new(0, 5, 5, -6).is_err());
        assert!(Relationship::default().with(Metric::Trust, -1).is_err());
        assert!(Relationship::default().with(Metric::Formality, -5).is_ok());
    }

    #[test]
    fn nudge_is_clamped_per_step_and_range() {
        let r = Relationship::new(9, 5, 5, 0).unwrap();
        let (r, v) = r.nudged(Metric::Anger, 7, 1);
        assert_eq!(v, 10);
        let (_, v) = r.nudged(Metric::Anger, 3, 2);
        assert_eq!(v, 10);
        let (_, v) = Relationship::default().nudged(Metric::Formality, -100, 2);
        assert_eq!(v, -2);
    }

    #[test]
    fn parses_metric_names() {
        assert_eq!("Trust".parse::<Metric>(), Ok(Metric::Trust));
        assert!("love".parse::<Metric>().is_err());
    }
}

// ---------------------------------------------------------------------------------------
// Post-exchange judgement: the LLM proposes small deltas, these rules apply them.
// ---------------------------------------------------------------------------------------

/// Longest reason kept from a judgement, in characters.
pub const MAX_REASON_CHARS: usize = 200;

/// What the relationship judgement proposed: one delta per metric (0 when the model gave
/// none or gave something that is not an integer) and a short reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelationshipJudgement {
    pub deltas: Vec<(Metric, i64)>,
    pub reason: String,
}

/// The reason logged for a move whose judgement gave none.
pub const NO_REASON: &str = "(the judge gave no reason)";

/// Parses `{"anger":-1,"rapport":1,"trust":0,"formality":0,"reason":"..."}`; fences and
/// surrounding prose are tolerated, unknown keys ignored, a nested `"deltas"` object
/// accepted. Errors only when the answer holds no JSON object at all.
pub fn parse_relationship_judgement(text: &str) -> Result<RelationshipJudgement, ParseError> {
    let map = extract_object(text).ok_or(ParseError::NoJson)?;
    let nested = map.get("deltas").and_then(serde_json::Value::as_object);
    let value_of = |metric: Metric| {
        map.get(metric.name())
            .or_else(|| nested.and_then(|n| n.get(metric.name())))
            .and_then(as_integer)
            .unwrap_or(0)
    };
    let deltas = Metric::ALL.iter().map(|m| (*m, value_of(*m))).collect();
    let reason = map
        .get("reason")
        .and_then(serde_json::Value::as_str)
        .map(|r| r.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|r| !r.is_empty())
        // Small models leave the reason out; the move is still the judge's, and the log of
        // changes (which refuses an empty reason) says so instead of losing it.
        .unwrap_or_else(|| NO_REASON.to_owned());
    let reason = reason.chars().take(MAX_REASON_CHARS).collect();
    Ok(RelationshipJudgement { deltas, reason })
}

/// Applies a judgement with [`Relationship::nudged`] (each delta limited to `max_step`),
/// returning the new relationship and one change per metric that actually moved.
pub fn apply_judgement(
    current: Relationship,
    judgement: &RelationshipJudgement,
    max_step: i64,
) -> (Relationship, Vec<RelationshipChange>) {
    let mut rel = current;
    let mut changes: Vec<RelationshipChange> = Vec::new();
    for (metric, delta) in &judgement.deltas {
        let old_value = rel.get(*metric);
        let (next, new_value) = rel.nudged(*metric, *delta, max_step);
        rel = next;
        if new_value == old_value {
            continue;
        }
        // A metric listed twice folds into one change from the original value.
        match changes.iter_mut().find(|c| c.metric == *metric) {
            Some(change) => change.new_value = new_value,
            None => changes.push(RelationshipChange {
                metric: *metric,
                old_value,
                new_value,
                reason: judgement.reason.clone(),
            }),
        }
    }
    changes.retain(|c| c.old_value != c.new_value);
    (rel, changes)
}

/// A short reading of a metric value for prompts: trust 2 → "wary of them",
/// formality 4 → "formal".
pub fn interpret(metric: Metric, value: i16) -> &'static str {
    match metric {
        Metric::Anger => match value {
            ..=1 => "not annoyed with them",
            2..=3 => "slightly irritated by them",
            4..=6 => "annoyed with them",
            7..=8 => "angry with them",
            _ => "furious with them",
        },
        Metric::Rapport => match value {
            ..=1 => "dislikes them",
            2..=3 => "distant with them",
            4..=6 => "on friendly terms",
            7..=8 => "close to them",
            _ => "best friends",
        },
        Metric::Trust => match value {
            ..=1 => "distrusts them",
            2..=3 => "wary of them",
            4..=6 => "neutral trust",
            7..=8 => "trusts them",
            _ => "trusts them completely",
        },
        Metric::Formality => match value {
            ..=-4 => "very casual",
            -3..=-1 => "casual",
            0 => "neither casual nor formal",
            1..=3 => "polite",
            _ => "formal",
        },
    }
}

#[cfg(test)]
mod judgement_tests {
    use super::*;

    #[test]
    fn parses_full_judgement() {
        let j = parse_relationship_judgement(
            r#"{"anger":-1,"rapport":1,"trust":0,"formality":0,"reason":"They apologised."}"#,
        );
        assert_eq!(
            j,
            Ok(RelationshipJudgement {
                deltas: vec![
                    (Metric::Anger, -1),
                    (Metric::Rapport, 1),
                    (Metric::Trust, 0),
                    (Metric::Formality, 0)
                ],
                reason: "They apologised.".into(),
            })
        );
    }

    #[test]
    fn tolerates_fences_missing_and_odd_values() {
        let text = "Sure:\n```json\n{\"rapport\": \"+2\", \"trust\": 0.5, \"anger\": null, \"mood\": 9}\n```";
        let j = parse_relationship_judgement(text).unwrap_or_else(|_| RelationshipJudgement {
            deltas: vec![],
            reason: "parse failed".into(),
        });
        assert_eq!(
            j.deltas,
            vec![
                (Metric::Anger, 0),
                (Metric::Rapport, 2),
                (Metric::Trust, 0),
                (Metric::Formality, 0)
            ]
        );
        assert_eq!(
            j.reason, NO_REASON,
            "a move without a reason is kept, with a default one"
        );
        let nested = parse_relationship_judgement(r#"{"deltas":{"trust":-1},"reason":"lied"}"#);
        assert!(nested.is_ok_and(|j| j.deltas[2] == (Metric::Trust, -1)));
    }

    #[test]
    fn reason_is_clamped() {
        let text = format!(r#"{{"reason": "{}"}}"#, "é".repeat(500));
        let j = parse_relationship_judgement(&text);
        assert!(j.is_ok_and(|j| j.reason.chars().count() == MAX_REASON_CHARS));
    }

    #[test]
    fn no_json_is_an_error() {
        assert_eq!(
            parse_relationship_judgement("they were nice"),
            Err(ParseError::NoJson)
        );
    }

    #[test]
    fn applies_only_real_changes() {
        let current = Relationship::new(0, 5, 10, 0).unwrap_or_default();
        let j = RelationshipJudgement {
            deltas: vec![
                (Metric::Anger, -1),
                (Metric::Rapport, 5),
                (Metric::Trust, 1),
                (Metric::Formality, 0),
            ],
            reason: "friendly chat".into(),
        };
        let (next, changes) = apply_judgement(current, &j, 2);
        assert_eq!(next.get(Metric::Rapport), 7);
        assert_eq!(next.get(Metric::Anger), 0);
        assert_eq!(next.get(Metric::Trust), 10);
        assert_eq!(
            changes,
            vec![RelationshipChange {
                metric: Metric::Rapport,
                old_value: 5,
                new_value: 7,
                reason: "friendly chat".into()
            }]
        );
    }

    #[test]
    fn repeated_metric_folds_into_one_change() {
        let j = RelationshipJudgement {
            deltas: vec![(Metric::Trust, 1), (Metric::Trust, -1)],
            reason: String::new(),
        };
        let (next, changes) = apply_judgement(Relationship::default(), &j, 2);
        assert_eq!(next, Relationship::default());
        assert!(changes.is_empty());
    }

    #[test]
    fn interpretations_cover_the_examples() {
        assert_eq!(interpret(Metric::Trust, 2), "wary of them");
        assert_eq!(interpret(Metric::Formality, 4), "formal");
        for metric in Metric::ALL {
            let (min, max) = metric.range();
            for v in min..=max {
                assert!(!interpret(metric, v).is_empty());
            }
        }
    }
}
