//! When the bot answers a message.
//!
//! The gateway handler converts a Discord message into a [`TriggerInput`] and acts on the
//! [`TriggerDecision`]; every rule about being addressed lives here so it is tested
//! without Discord. `Ambiguous` is for the cases a cheap LLM judgement should settle
//! (see [`judged_addressed`]).

use chrono::{DateTime, Duration, Utc};

use super::conversation::IncomingMessage;
use super::ids::UserId;
use super::json::{as_float, json_candidates};

/// The bot's most recent answer in the channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastAnswer {
    /// Who the bot answered.
    pub to: UserId,
    pub at: DateTime<Utc>,
    /// The answer is still the newest message in the channel (nobody spoke since).
    pub is_latest_message: bool,
}

#[derive(Clone, Copy, Debug)]
pub struct TriggerInput<'a> {
    pub bot_id: UserId,
    pub bot_name: &'a str,
    pub aliases: &'a [String],
    /// The message as the gateway saw it. Discord adds the replied-to author to its
    /// mentions when the reply pings; that implicit mention is not counted as addressing
    /// someone else.
    pub message: &'a IncomingMessage,
    /// Whether messages written by other bots may trigger a reply.
    pub reply_to_bots: bool,
    pub last_answer: Option<LastAnswer>,
    /// How long after an answer the same member may carry on without naming the bot.
    pub follow_up_window: Duration,
    pub now: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerReason {
    Mentioned,
    RepliedToBot,
    NameSaid,
    FollowUp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IgnoreReason {
    OwnMessage,
    OtherBot,
    /// The message @mentions or replies to someone other than the bot.
    AddressedToSomeoneElse,
    NotAddressed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerDecision {
    Reply(TriggerReason),
    /// Maybe meant for the bot: ask the addressed judgement and compare with a threshold.
    Ambiguous,
    Ignore(IgnoreReason),
}

/// Applies the rules, first match wins:
/// own message → other bot (unless enabled) → @mention → reply to the bot →
/// @mention of someone else → name or alias said → reply to someone else →
/// @everyone/@here → follow-up within the window → question/second person just after the bot spoke →
/// not addressed.
pub fn decide(input: &TriggerInput<'_>) -> TriggerDecision {
    use TriggerDecision::{Ambiguous, Ignore, Reply};
    let msg = input.message;
    let author = msg.message.author_id;
    let content = msg.message.content.as_str();
    if author == input.bot_id {
        return Ignore(IgnoreReason::OwnMessage);
    }
    if msg.message.is_bot && !input.reply_to_bots {
        return Ignore(IgnoreReason::OtherBot);
    }
    if msg.mentions.contains(&input.bot_id) {
        return Reply(TriggerReason::Mentioned);
    }
    if msg.replied_to_author == Some(input.bot_id) {
        return Reply(TriggerReason::RepliedToBot);
    }
    let mentions_other = msg
        .mentions
        .iter()
        .any(|id| *id != author && Some(*id) != msg.replied_to_author);
    if mentions_other {
        return Ignore(IgnoreReason::AddressedToSomeoneElse);
    }
    let names = std::iter::once(input.bot_name).chain(input.aliases.iter().map(String::as_str));
    if names.into_iter().any(|name| contains_name(content, name)) {
        return Reply(TriggerReason::NameSaid);
    }
    if msg.replied_to_author.is_some_and(|id| id != author) {
        return Ignore(IgnoreReason::AddressedToSomeoneElse);
    }
    // An @everyone/@here announcement is for the whole server, never a follow-up.
    if msg.mentions_everyone {
        return Ignore(IgnoreReason::NotAddressed);
    }
    let Some(last) = input.last_answer else {
        return Ignore(IgnoreReason::NotAddressed);
    };
    let age = input.now.signed_duration_since(last.at);
    let recent = age >= Duration::zero() && age <= input.follow_up_window;
    if !recent {
        return Ignore(IgnoreReason::NotAddressed);
    }
    if last.to == author && last.is_latest_message {
        return Reply(TriggerReason::FollowUp);
    }
    if looks_addressed(content) {
        return Ambiguous;
    }
    Ignore(IgnoreReason::NotAddressed)
}

/// Whether `name` appears in `text` as a whole word (or phrase), ignoring case.
/// Discord tokens such as `<:aria:123>` and `<@42>` are skipped.
pub fn contains_name(text: &str, name: &str) -> bool {
    let needle = name.trim().to_lowercase();
    if needle.is_empty() {
        return false;
    }
    let hay = strip_discord_tokens(text).to_lowercase();
    hay.match_indices(&needle).any(|(start, found)| {
        let before = hay[..start].chars().next_back();
        let after = hay[start + found.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Replaces `<…>` tokens (mentions, custom emotes, timestamps) by a space.
fn strip_discord_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let tail = &rest[open + 1..];
        match tail.find('>') {
            Some(close) if close > 0 && !tail[..close].contains(char::is_whitespace) => {
                out.push(' ');
                rest = &tail[close + 1..];
            }
            _ => {
                out.push('<');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A question or second-person phrasing ("you", "your", "u", …).
pub fn looks_addressed(text: &str) -> bool {
    const SECOND_PERSON: [&str; 12] = [
        "you", "your", "yours", "yourself", "you're", "youre", "you've", "you'd", "you'll", "u",
        "ur", "y'all",
    ];
    if text.contains('?') {
        return true;
    }
    text.to_lowercase()
        .replace('’', "'")
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .any(|word| SECOND_PERSON.contains(&word))
}

/// The probability (0..=1) from the addressed judgement: `{"addressed": 0.8}`, a bare
/// number, `"80%"`, or `true`/`false`. `None` when nothing usable is found.
pub fn parse_addressed_judgement(text: &str) -> Option<f32> {
    for value in json_candidates(text) {
        if let Some(map) = value.as_object() {
            let found = map
                .get("addressed")
                .or_else(|| map.get("probability"))
                .or_else(|| map.get("score"));
            if let Some(v) = found {
                return match v {
                    serde_json::Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
                    other => as_float(other).and_then(probability),
                };
            }
        }
    }
    bare_number(text)
}

fn probability(p: f64) -> Option<f32> {
    (0.0..=1.0).contains(&p).then_some(p as f32)
}

/// First number in free text; a trailing `%` makes it a percentage.
fn bare_number(text: &str) -> Option<f32> {
    let trimmed = text.trim().to_ascii_lowercase();
    match trimmed.trim_end_matches('.') {
        "true" | "yes" => return Some(1.0),
        "false" | "no" => return Some(0.0),
        _ => {}
    }
    let start = trimmed.find(|c: char| c.is_ascii_digit() || c == '.')?;
    let tail = &trimmed[start..];
    let len = tail
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(tail.len());
    let number: f64 = tail[..len].trim_end_matches('.').parse().ok()?;
    if tail[len..].trim_start().starts_with('%') {
        probability(number / 100.0)
    } else {
        probability(number)
    }
}

/// The addressed judgement as a yes/no: the bot answers when the model's probability
/// reaches `threshold`; an unparsable judgement means no reply (silence is the cheaper
/// mistake).
pub fn judged_addressed(judgement: &str, threshold: f32) -> bool {
    parse_addressed_judgement(judgement).is_some_and(|p| p >= threshold)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const BOT: UserId = UserId(1);
    const ALICE: UserId = UserId(2);
    const BOB: UserId = UserId(3);

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn aliases() -> Vec<String> {
        vec!["Ari".to_owned(), "Miss A".to_owned()]
    }

    fn msg(author: UserId, content: &str) -> IncomingMessage {
        IncomingMessage {
            message: crate::domain::LoggedMessage {
                id: crate::domain::MessageId(10),
                channel_id: crate::domain::ChannelId(20),
                guild_id: None,
                author_id: author,
                author_name: "someone".to_owned(),
                is_bot: false,
                content: content.to_owned(),
                reply_to: None,
                created_at: now(),
            },
            mentions: Vec::new(),
            mentions_everyone: false,
            replied_to_author: None,
            author_username: "someone".to_owned(),
            author_display: None,
        }
    }

    fn input<'a>(aliases: &'a [String], message: &'a IncomingMessage) -> TriggerInput<'a> {
        TriggerInput {
            bot_id: BOT,
            bot_name: "Aria",
            aliases,
            message,
            reply_to_bots: false,
            last_answer: None,
            follow_up_window: Duration::minutes(2),
            now: now(),
        }
    }

    fn answered(to: UserId, secs_ago: i64, latest: bool) -> Option<LastAnswer> {
        Some(LastAnswer {
            to,
            at: now() - Duration::seconds(secs_ago),
            is_latest_message: latest,
        })
    }

    #[test]
    fn never_own_messages() {
        let a = aliases();
        let mut m = msg(BOT, "Aria");
        m.mentions = vec![BOT];
        assert_eq!(
            decide(&input(&a, &m)),
            TriggerDecision::Ignore(IgnoreReason::OwnMessage)
        );
    }

    #[test]
    fn other_bots_only_when_enabled() {
        let a = aliases();
        let mut m = msg(BOB, "hey aria");
        m.message.is_bot = true;
        assert_eq!(
            decide(&input(&a, &m)),
            TriggerDecision::Ignore(IgnoreReason::OtherBot)
        );
        let mut i = input(&a, &m);
        i.reply_to_bots = true;
        assert_eq!(decide(&i), TriggerDecision::Reply(TriggerReason::NameSaid));
    }

    #[test]
    fn mention_and_reply_trigger() {
        let a = aliases();
        let mut m = msg(ALICE, "<@1> hi");
        m.mentions = vec![BOT];
        assert_eq!(
            decide(&input(&a, &m)),
            TriggerDecision::Reply(TriggerReason::Mentioned)
        );
        let mut m = msg(ALICE, "ok");
        m.replied_to_author = Some(BOT);
        m.mentions = vec![BOT];
        assert_eq!(
            decide(&input(&a, &m)),
            TriggerDecision::Reply(TriggerReason::Mentioned)
        );
        m.mentions = Vec::new();
        assert_eq!(
            decide(&input(&a, &m)),
            TriggerDecision::Reply(TriggerReason::RepliedToBot)
        );
    }

    #[test]
    fn mentioning_someone_else_wins_over_name() {
        let a = aliases();
        let mut m = msg(ALICE, "<@3> did you see what Aria said?");
        m.mentions = vec![BOB];
        assert_eq!(
            decide(&input(&a, &m)),
            TriggerDecision::Ignore(IgnoreReason::AddressedToSomeoneElse)
        );
    }

    #[test]
    fn reply_ping_to_someone_else_does_not_hide_the_name() {
        let a = aliases();
        let mut m = msg(ALICE, "aria, what do you think of this?");
        m.replied_to_author = Some(BOB);
        m.mentions = vec![BOB];
        assert_eq!(
            decide(&input(&a, &m)),
            TriggerDecision::Reply(TriggerReason::NameSaid)
        );
        let mut m = msg(ALICE, "lol same");
        m.replied_to_author = Some(BOB);
        let mut i = input(&a, &m);
        i.last_answer = answered(ALICE, 10, true);
        assert_eq!(
            decide(&i),
            TriggerDecision::Ignore(IgnoreReason::AddressedToSomeoneElse)
        );
    }

    #[test]
    fn name_as_whole_word_only() {
        assert!(contains_name("hey aria!", "Aria"));
        assert!(contains_name("ARIA", "Aria"));
        assert!(contains_name("is that you, aria's friend?", "Aria"));
        assert!(!contains_name("I love arias", "Aria"));
        assert!(!contains_name("malaria", "Aria"));
        assert!(!contains_name("aria_fan", "Aria"));
        assert!(contains_name("thanks miss a.", "Miss A"));
        assert!(!contains_name("nice <:aria:123> emote", "Aria"));
        assert!(!contains_name("anything", "  "));
        assert!(contains_name("ça va, Élodie ?", "élodie"));
    }

    #[test]
    fn alias_triggers() {
        let a = aliases();
        assert_eq!(
            decide(&input(&a, &msg(ALICE, "ari come here"))),
            TriggerDecision::Reply(TriggerReason::NameSaid)
        );
    }

    #[test]
    fn follow_up_within_window_when_nobody_spoke_between() {
        let a = aliases();
        let m = msg(ALICE, "and then what happened");
        let mut i = input(&a, &m);
        i.last_answer = answered(ALICE, 60, true);
        assert_eq!(decide(&i), TriggerDecision::Reply(TriggerReason::FollowUp));
        i.last_answer = answered(ALICE, 600, true);
        assert_eq!(
            decide(&i),
            TriggerDecision::Ignore(IgnoreReason::NotAddressed)
        );
        i.last_answer = answered(ALICE, 60, false);
        assert_eq!(
            decide(&i),
            TriggerDecision::Ignore(IgnoreReason::NotAddressed)
        );
    }

    #[test]
    fn question_after_bot_spoke_to_someone_else_is_ambiguous() {
        let a = aliases();
        let m = msg(BOB, "what do you mean");
        let mut i = input(&a, &m);
        i.last_answer = answered(ALICE, 30, true);
        assert_eq!(decide(&i), TriggerDecision::Ambiguous);
        let m = msg(BOB, "is it raining?");
        let mut i = input(&a, &m);
        i.last_answer = answered(ALICE, 30, true);
        assert_eq!(decide(&i), TriggerDecision::Ambiguous);
        let m = msg(BOB, "brb dinner");
        let mut i = input(&a, &m);
        i.last_answer = answered(ALICE, 30, true);
        assert_eq!(
            decide(&i),
            TriggerDecision::Ignore(IgnoreReason::NotAddressed)
        );
        let m = msg(BOB, "you there?");
        let mut i = input(&a, &m);
        i.last_answer = answered(ALICE, 3600, true);
        assert_eq!(
            decide(&i),
            TriggerDecision::Ignore(IgnoreReason::NotAddressed)
        );
    }

    #[test]
    fn plain_chatter_is_ignored() {
        let a = aliases();
        let mut m = msg(ALICE, "@everyone meeting at 5, can you all make it?");
        m.mentions_everyone = true;
        let mut i = input(&a, &m);
        i.last_answer = answered(ALICE, 10, true);
        assert_eq!(
            decide(&i),
            TriggerDecision::Ignore(IgnoreReason::NotAddressed)
        );
        m.message.content = "@everyone Aria is hosting tonight".to_owned();
        assert_eq!(
            decide(&input(&a, &m)),
            TriggerDecision::Reply(TriggerReason::NameSaid)
        );
    }

    #[test]
    fn parses_addressed_judgement() {
        assert_eq!(
            parse_addressed_judgement(r#"{"addressed": 0.8}"#),
            Some(0.8)
        );
        assert_eq!(
            parse_addressed_judgement("```json\n{\"addressed\": \"0.25\"}\n```"),
            Some(0.25)
        );
        assert_eq!(parse_addressed_judgement("0.3"), Some(0.3));
        assert_eq!(parse_addressed_judgement("Probability: 70%"), Some(0.7));
        assert_eq!(
            parse_addressed_judgement(r#"{"addressed": true}"#),
            Some(1.0)
        );
        assert_eq!(parse_addressed_judgement("no"), Some(0.0));
        assert_eq!(parse_addressed_judgement(r#"{"addressed": 7}"#), None);
        assert_eq!(parse_addressed_judgement("I cannot tell"), None);
        assert_eq!(parse_addressed_judgement(""), None);
    }

    #[test]
    fn threshold_decides() {
        assert!(judged_addressed(r#"{"addressed": 0.8}"#, 0.6));
        assert!(
            judged_addressed("60%", 0.6),
            "the threshold itself is enough"
        );
        assert!(!judged_addressed(r#"{"addressed": 0.5}"#, 0.6));
        assert!(
            !judged_addressed("I cannot tell", 0.0),
            "unparsable: no reply"
        );
    }
}
