//! Things the bot says on its own: the daily status line, proactive comments and
//! musings, and the in-character lines used when the model cannot be reached.

use chrono::{DateTime, NaiveDate, Utc};
use minijinja::context;
use rand::Rng;
use rand::seq::IndexedRandom;

use super::render_infallible;
use super::reply::chat_lines;
use super::view::{self, Line, PersonaView};
use crate::domain::{ChatTurn, LoggedMessage, Persona, UserId};

/// Discord's limit for a custom status.
pub const MAX_STATUS_CHARS: usize = 128;

/// Asks for today's custom status (one short line; clean it with [`trim_status`]).
pub fn status(bot_name: &str, persona: &Persona, mood: &str, today: NaiveDate) -> Vec<ChatTurn> {
    let system = render_infallible(
        "status.j2",
        context! {
            bot_name => view::one_line(bot_name),
            persona => PersonaView::new(persona),
            mood => view::one_line(mood),
            today => today.format("%A %Y-%m-%d").to_string(),
        },
    );
    vec![
        ChatTurn::system(system),
        ChatTurn::user("Your status for today:"),
    ]
}

/// Cleans a model's status: first non-empty line, no "Status:" label, no surrounding
/// quotes, no hashtags, whitespace collapsed, at most 128 characters (cut at a word
/// boundary with "…" when possible).
pub fn trim_status(text: &str) -> String {
    const QUOTES: &[char] = &['"', '\'', '“', '”', '‘', '’', '`', '«', '»'];
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let line = match line.split_once(':') {
        Some((label, rest)) if label.trim().eq_ignore_ascii_case("status") => rest,
        _ => line,
    };
    let words: Vec<&str> = line
        .split_whitespace()
        .filter(|w| !(w.starts_with('#') && w.chars().nth(1).is_some_and(char::is_alphabetic)))
        .collect();
    let clean = words.join(" ").trim_matches(QUOTES).trim().to_owned();
    if clean.chars().count() <= MAX_STATUS_CHARS {
        return clean;
    }
    let hard: String = clean.chars().take(MAX_STATUS_CHARS - 1).collect();
    let cut = match hard.rfind(' ') {
        Some(i) if hard[..i].chars().count() >= MAX_STATUS_CHARS / 2 => &hard[..i],
        _ => hard.as_str(),
    };
    format!("{}…", cut.trim_end())
}

/// Chiming in on the recent conversation, unprompted.
pub fn proactive_comment(
    persona: &Persona,
    mood: &str,
    bot_name: &str,
    bot_id: UserId,
    recent: &[LoggedMessage],
    now: DateTime<Utc>,
) -> Vec<ChatTurn> {
    let system = render_infallible(
        "proactive_comment.j2",
        context! {
            bot_name => view::one_line(bot_name),
            persona => PersonaView::new(persona),
            mood => view::one_line(mood),
        },
    );
    let lines: Vec<Line> = recent
        .iter()
        .map(|m| view::line(m, Some(bot_id), now))
        .collect();
    vec![
        ChatTurn::system(system),
        ChatTurn::user(chat_lines(&lines).unwrap_or_default()),
    ]
}

/// A passing thought of the bot's own, unprompted.
pub fn proactive_musing(
    persona: &Persona,
    mood: &str,
    bot_name: &str,
    current_status: Option<&str>,
) -> Vec<ChatTurn> {
    let system = render_infallible(
        "proactive_musing.j2",
        context! {
            bot_name => view::one_line(bot_name),
            persona => PersonaView::new(persona),
            mood => view::one_line(mood),
            current_status => current_status.map(view::one_line).filter(|s| !s.is_empty()),
        },
    );
    vec![
        ChatTurn::system(system),
        ChatTurn::user("(Share your thought now.)"),
    ]
}

fn fallback(kind: &str, default: &str, rng: &mut impl Rng) -> String {
    let text = render_infallible("fallback_lines.j2", context! { kind => kind });
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines.choose(rng).copied().unwrap_or(default).to_owned()
}

/// An in-character line for when a member is sending faster than the bot answers.
pub fn rate_limited_line(rng: &mut impl Rng) -> String {
    fallback("rate_limited", "one at a time please!", rng)
}

/// An in-character line for when the model failed to answer.
pub fn failure_line(rng: &mut impl Rng) -> String {
    fallback(
        "failure",
        "sorry, I lost my train of thought. try again in a bit?",
        rng,
    )
}

/// An in-character line for when today's token budget of `scope` (`member`, `server`,
/// `global`) is spent: said once, and then the bot stays quiet there until tomorrow.
pub fn budget_spent_line(scope: &str, rng: &mut impl Rng) -> String {
    fallback(
        &format!("budget_{scope}"),
        "I'm all talked out for today. back tomorrow!",
        rng,
    )
}

/// A status line for the very first day, before the nightly run generates one.
pub fn starter_status(rng: &mut impl Rng) -> String {
    fallback("starter_status", "settling in", rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChannelId, ChatRole, MessageId, PersonaEntry, PersonaKind};
    use chrono::TimeZone;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn persona() -> Persona {
        Persona {
            name: None,
            entries: vec![PersonaEntry {
                id: 1,
                guild_id: None,
                replaces: None,
                kind: PersonaKind::Trait,
                content: "loves thunderstorms".into(),
                created_at: DateTime::default(),
                updated_at: DateTime::default(),
            }],
        }
    }

    #[test]
    fn status_prompt() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default();
        let turns = status("Aria", &persona(), "cheerful", day);
        assert_eq!(turns[0].role, ChatRole::System);
        for needle in [
            "You are Aria",
            "loves thunderstorms",
            "Tuesday 2026-11-24",
            "cheerful",
            "No quotes, no hashtags",
        ] {
            assert!(turns[0].content.contains(needle), "missing {needle:?}");
        }
        assert_eq!(turns[1].role, ChatRole::User);
    }

    #[test]
    fn trims_status() {
        assert_eq!(
            trim_status("\"watching the rain\"\nsecond line"),
            "watching the rain"
        );
        assert_eq!(
            trim_status("  Status: “reading by the window” #cozy #rain"),
            "reading by the window"
        );
        assert_eq!(
            trim_status("'#1 fan of rainy days'"),
            "#1 fan of rainy days"
        );
        assert_eq!(trim_status(""), "");
        let long = "word ".repeat(60);
        let t = trim_status(&long);
        assert!(t.chars().count() <= MAX_STATUS_CHARS && t.ends_with('…'));
        let dense = "é".repeat(300);
        let t = trim_status(&dense);
        assert_eq!(t.chars().count(), MAX_STATUS_CHARS);
    }

    #[test]
    fn proactive_prompts() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 24, 20, 0, 0)
            .single()
            .unwrap_or_default();
        let recent = [
            LoggedMessage {
                id: MessageId(1),
                channel_id: ChannelId(1),
                guild_id: None,
                author_id: UserId(5),
                author_name: "Bob".into(),
                is_bot: false,
                content: "storm's coming tonight".into(),
                reply_to: None,
                created_at: now,
            },
            LoggedMessage {
                id: MessageId(2),
                channel_id: ChannelId(1),
                guild_id: None,
                author_id: UserId(1),
                author_name: "Aria".into(),
                is_bot: true,
                content: "finally".into(),
                reply_to: None,
                created_at: now,
            },
        ];
        let turns = proactive_comment(&persona(), "restless", "Aria", UserId(1), &recent, now);
        assert!(
            turns[0].content.contains("loves thunderstorms")
                && turns[0].content.contains("restless")
        );
        assert_eq!(
            turns[1].content,
            "[20:00] Bob: storm's coming tonight\n[20:00] Aria (you): finally"
        );

        let turns = proactive_musing(&persona(), "restless", "Aria", Some("waiting for thunder"));
        assert!(
            turns[0]
                .content
                .contains("Your status right now: waiting for thunder")
        );
        let turns = proactive_musing(&persona(), "restless", "Aria", None);
        assert!(!turns[0].content.contains("status right now"));
    }

    #[test]
    fn fallback_lines_are_in_character() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..20 {
            let line = rate_limited_line(&mut rng);
            assert!(!line.is_empty() && !line.contains("{%"));
            let line = failure_line(&mut rng);
            assert!(!line.is_empty() && !line.contains("AI"));
        }
    }

    #[test]
    fn budget_lines_differ_by_scope_and_never_fall_back_to_failure() {
        let mut rng = StdRng::seed_from_u64(2);
        for scope in ["member", "server", "global"] {
            for _ in 0..10 {
                let line = budget_spent_line(scope, &mut rng);
                assert!(line.contains("tomorrow"), "{scope}: {line}");
                assert!(!line.contains("{%") && !line.contains("AI"));
            }
        }
        assert!(budget_spent_line("member", &mut rng).contains("today"));
        let status = starter_status(&mut rng);
        assert!(!status.is_empty() && status.len() < 60);
    }
}
