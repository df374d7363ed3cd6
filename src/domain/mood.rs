//! The bot's mood of the day: a few 0..=10 dimensions that drift or are rerolled each
//! morning, and a short description the prompts can use.
//!
//! Dimensions are stored by name (`daily_mood_*`) so operators can add their own without
//! a schema change; the four defaults get hand-written wording, others a generic one.

use std::collections::BTreeMap;

use rand::Rng;

/// Global-state key holding the day (days since 0001-01-01) the mood was last rolled for.
pub const MOOD_DAY_KEY: &str = "mood_day";
/// Global-state key whose text is the current status line.
pub const STATUS_KEY: &str = "status";
/// Global-state key holding the day whose status line was generated (the starter line of a
/// fresh install sets none), so several processes make one status a day.
pub const STATUS_DAY_KEY: &str = "status_day";

pub const MOOD_MIN: i64 = 0;
pub const MOOD_MAX: i64 = 10;
const NEUTRAL: i64 = 5;
const PREFIX: &str = "daily_mood_";

/// The default dimensions.
pub const DEFAULT_DIMENSIONS: [&str; 4] = [
    "daily_mood_anger",
    "daily_mood_cheer",
    "daily_mood_energy",
    "daily_mood_curiosity",
];

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mood {
    pub values: BTreeMap<String, i64>,
}

impl Default for Mood {
    /// Every default dimension at 5, except anger at 0.
    fn default() -> Self {
        let values = DEFAULT_DIMENSIONS
            .iter()
            .map(|k| {
                (
                    k.to_string(),
                    if *k == "daily_mood_anger" {
                        MOOD_MIN
                    } else {
                        NEUTRAL
                    },
                )
            })
            .collect();
        Self { values }
    }
}

impl Mood {
    /// A dimension's value (5 if absent).
    pub fn get(&self, key: &str) -> i64 {
        self.values.get(key).copied().unwrap_or(NEUTRAL)
    }

    /// Sets a dimension, clamped to 0..=10.
    pub fn set(&mut self, key: impl Into<String>, value: i64) {
        self.values
            .insert(key.into(), value.clamp(MOOD_MIN, MOOD_MAX));
    }

    /// A short description such as "cheerful, a bit tired"; "in an even mood" when
    /// nothing stands out.
    pub fn describe(&self) -> String {
        let words: Vec<String> = self
            .values
            .iter()
            .filter_map(|(k, v)| describe_one(k, *v))
            .collect();
        if words.is_empty() {
            "in an even mood".to_owned()
        } else {
            words.join(", ")
        }
    }
}

fn describe_one(key: &str, value: i64) -> Option<String> {
    let word = match key {
        "daily_mood_anger" => match value {
            ..=2 => return None,
            3..=5 => "a little grumpy",
            6..=7 => "irritable",
            _ => "in a foul temper",
        },
        "daily_mood_cheer" => match value {
            ..=1 => "gloomy",
            2..=3 => "a bit down",
            4..=6 => return None,
            7..=8 => "cheerful",
            _ => "elated",
        },
        "daily_mood_energy" => match value {
            ..=1 => "exhausted",
            2..=3 => "a bit tired",
            4..=6 => return None,
            7..=8 => "energetic",
            _ => "bursting with energy",
        },
        "daily_mood_curiosity" => match value {
            ..=2 => "uninterested in new things",
            3..=7 => return None,
            _ => "very curious",
        },
        other => {
            let name = other
                .strip_prefix(PREFIX)
                .unwrap_or(other)
                .replace('_', " ");
            return match value {
                ..=2 => Some(format!("low on {name}")),
                8.. => Some(format!("full of {name}")),
                _ => None,
            };
        }
    };
    Some(word.to_owned())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MoodRule {
    /// Each dimension moves by a uniform step in `-max_step..=max_step`.
    RandomWalk { max_step: i64 },
    /// Each dimension is drawn afresh, uniform in 0..=10.
    Reroll,
}

/// Tomorrow's mood. Keeps the current dimensions (the defaults if there are none) and
/// keeps every value within 0..=10.
pub fn next_day(current: &Mood, rule: MoodRule, rng: &mut impl Rng) -> Mood {
    let base = if current.values.is_empty() {
        Mood::default()
    } else {
        current.clone()
    };
    let mut next = Mood {
        values: BTreeMap::new(),
    };
    for (key, value) in base.values {
        let value = match rule {
            MoodRule::RandomWalk { max_step } => {
                let step = i64::try_from(max_step.unsigned_abs())
                    .unwrap_or(MOOD_MAX)
                    .min(MOOD_MAX);
                value.clamp(MOOD_MIN, MOOD_MAX) + rng.random_range(-step..=step)
            }
            MoodRule::Reroll => rng.random_range(MOOD_MIN..=MOOD_MAX),
        };
        next.set(key, value);
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn mood(pairs: &[(&str, i64)]) -> Mood {
        let mut m = Mood::default();
        for (k, v) in pairs {
            m.set(*k, *v);
        }
        m
    }

    #[test]
    fn default_has_four_dimensions() {
        let m = Mood::default();
        assert_eq!(m.values.len(), 4);
        assert!(DEFAULT_DIMENSIONS.iter().all(|k| m.values.contains_key(*k)));
        assert_eq!(m.describe(), "in an even mood");
    }

    #[test]
    fn describes_notable_dimensions() {
        let m = mood(&[("daily_mood_cheer", 8), ("daily_mood_energy", 3)]);
        assert_eq!(m.describe(), "cheerful, a bit tired");
        let m = mood(&[
            ("daily_mood_anger", 9),
            ("daily_mood_curiosity", 10),
            ("daily_mood_silliness", 9),
        ]);
        assert_eq!(
            m.describe(),
            "in a foul temper, very curious, full of silliness"
        );
    }

    #[test]
    fn set_clamps() {
        let m = mood(&[("daily_mood_cheer", 99), ("daily_mood_energy", -4)]);
        assert_eq!(m.get("daily_mood_cheer"), 10);
        assert_eq!(m.get("daily_mood_energy"), 0);
    }

    #[test]
    fn random_walk_stays_bounded_and_moves_little() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut m = Mood::default();
        for _ in 0..1000 {
            let next = next_day(&m, MoodRule::RandomWalk { max_step: 2 }, &mut rng);
            for (k, v) in &next.values {
                assert!((MOOD_MIN..=MOOD_MAX).contains(v));
                assert!((v - m.get(k)).abs() <= 2);
            }
            m = next;
        }
    }

    #[test]
    fn reroll_covers_the_range_and_keeps_keys() {
        let mut rng = StdRng::seed_from_u64(12);
        let m = mood(&[("daily_mood_silliness", 3)]);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..500 {
            let next = next_day(&m, MoodRule::Reroll, &mut rng);
            assert_eq!(next.values.len(), 5);
            seen.extend(next.values.values().copied());
        }
        assert_eq!(seen.len(), 11);
        let empty = Mood {
            values: BTreeMap::new(),
        };
        assert_eq!(next_day(&empty, MoodRule::Reroll, &mut rng).values.len(), 4);
    }

    #[test]
    fn absurd_steps_do_not_panic() {
        let mut rng = StdRng::seed_from_u64(13);
        let m = next_day(
            &Mood::default(),
            MoodRule::RandomWalk { max_step: i64::MIN },
            &mut rng,
        );
        assert!(m.values.values().all(|v| (MOOD_MIN..=MOOD_MAX).contains(v)));
    }
}
