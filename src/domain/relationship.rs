//! Relationship metrics between the bot and one member, and the rules that move them.
//!
//! Ranges are enforced by the types: a `Relationship` cannot hold an out-of-range value,
//! so the store, the admin commands and the post-exchange judgement share one check.
//! The database repeats the same bounds as CHECK constraints.

use std::fmt;
use std::str::FromStr;

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
    pub const ALL: [Metric; 4] = [Metric::Anger, Metric::Rapport, Metric::Trust, Metric::Formality];

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
    OutOfRange { metric: Metric, value: i64, min: i16, max: i16 },
    #[error("unknown metric `{0}` (expected anger, rapport, trust or formality)")]
    UnknownMetric(String),
}

/// Validates a raw value for a metric.
pub fn checked(metric: Metric, value: i64) -> Result<i16, RelationshipError> {
    let (min, max) = metric.range();
    if value < i64::from(min) || value > i64::from(max) {
        return Err(RelationshipError::OutOfRange { metric, value, min, max });
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
    pub fn new(anger: i64, rapport: i64, trust: i64, formality: i64) -> Result<Self, RelationshipError> {
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
