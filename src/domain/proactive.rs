//! Whether the bot speaks up unprompted on a scheduler tick.
//!
//! Discord's Developer Policy forbids automated messages meant to keep activity up, so
//! the bot never talks into an idle channel or after itself, and never past a daily cap;
//! those checks run before any dice are rolled. Randomness is a parameter so the rates
//! are tested with a seeded generator.

use chrono::Duration;
use rand::Rng;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProactiveInput {
    /// Probability of speaking on one tick, 0..=1 (out-of-range values are clamped).
    pub chance: f64,
    /// The newest message in the channel is the bot's own.
    pub last_message_is_bot: bool,
    /// Time since the last message in the channel; `None` if there is none.
    pub last_activity_age: Option<Duration>,
    /// Channels quiet for longer than this are left alone.
    pub idle_limit: Duration,
    pub posts_today: u32,
    pub daily_cap: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    DailyCapReached,
    BotSpokeLast,
    ChannelIdle,
    /// The roll said no.
    NotThisTime,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProactiveDecision {
    Skip(SkipReason),
    /// Comment on the recent conversation.
    Comment,
    /// Share a thought of its own.
    Musing,
}

/// Checks cap, last speaker and idleness, then rolls `chance`, then a 50/50 fork
/// between a comment and a musing.
pub fn decide(input: &ProactiveInput, rng: &mut impl Rng) -> ProactiveDecision {
    if input.posts_today >= input.daily_cap {
        return ProactiveDecision::Skip(SkipReason::DailyCapReached);
    }
    if input.last_message_is_bot {
        return ProactiveDecision::Skip(SkipReason::BotSpokeLast);
    }
    match input.last_activity_age {
        Some(age) if age <= input.idle_limit => {}
        _ => return ProactiveDecision::Skip(SkipReason::ChannelIdle),
    }
    let chance = if input.chance.is_nan() {
        0.0
    } else {
        input.chance.clamp(0.0, 1.0)
    };
    if !rng.random_bool(chance) {
        return ProactiveDecision::Skip(SkipReason::NotThisTime);
    }
    if rng.random_bool(0.5) {
        ProactiveDecision::Comment
    } else {
        ProactiveDecision::Musing
    }
}

/// What kind of unprompted post.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProactiveKind {
    /// A remark on the ongoing conversation.
    Comment,
    /// A thought out of the blue in a quiet channel.
    Musing,
}

impl ProactiveKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProactiveKind::Comment => "comment",
            ProactiveKind::Musing => "musing",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn input(chance: f64) -> ProactiveInput {
        ProactiveInput {
            chance,
            last_message_is_bot: false,
            last_activity_age: Some(Duration::minutes(10)),
            idle_limit: Duration::hours(2),
            posts_today: 0,
            daily_cap: 1_000_000,
        }
    }

    fn run(input: &ProactiveInput, ticks: usize, seed: u64) -> (usize, usize) {
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut comments, mut musings) = (0, 0);
        for _ in 0..ticks {
            match decide(input, &mut rng) {
                ProactiveDecision::Comment => comments += 1,
                ProactiveDecision::Musing => musings += 1,
                ProactiveDecision::Skip(_) => {}
            }
        }
        (comments, musings)
    }

    #[test]
    fn activation_rate_matches_chance() {
        let (c, m) = run(&input(0.10), 10_000, 42);
        let rate = (c + m) as f64 / 10_000.0;
        assert!((0.09..=0.11).contains(&rate), "rate {rate}");
    }

    #[test]
    fn fork_is_even() {
        let (c, m) = run(&input(1.0), 10_000, 7);
        let share = c as f64 / (c + m) as f64;
        assert!((0.48..=0.52).contains(&share), "comment share {share}");
    }

    #[test]
    fn never_after_itself() {
        let mut i = input(1.0);
        i.last_message_is_bot = true;
        assert_eq!(run(&i, 10_000, 1), (0, 0));
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            decide(&i, &mut rng),
            ProactiveDecision::Skip(SkipReason::BotSpokeLast)
        );
    }

    #[test]
    fn skips_idle_channels_and_respects_the_cap() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut i = input(1.0);
        i.last_activity_age = Some(Duration::hours(3));
        assert_eq!(
            decide(&i, &mut rng),
            ProactiveDecision::Skip(SkipReason::ChannelIdle)
        );
        i.last_activity_age = None;
        assert_eq!(
            decide(&i, &mut rng),
            ProactiveDecision::Skip(SkipReason::ChannelIdle)
        );
        let mut i = input(1.0);
        i.posts_today = 3;
        i.daily_cap = 3;
        assert_eq!(
            decide(&i, &mut rng),
            ProactiveDecision::Skip(SkipReason::DailyCapReached)
        );
    }

    #[test]
    fn odd_chances_do_not_panic() {
        let mut rng = StdRng::seed_from_u64(5);
        for chance in [f64::NAN, -1.0, 2.0, f64::INFINITY] {
            let _ = decide(&input(chance), &mut rng);
        }
        assert_eq!(run(&input(0.0), 1000, 5), (0, 0));
    }
}
