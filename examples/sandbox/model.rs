//! The sandbox's stand-in model: no language model at all, but an answer of the right shape
//! for every kind of prompt the bot sends, so the whole bot works offline. Replies are
//! short and friendly; fact extraction picks "I like…", "I'm a…", "my … is …" sentences out
//! of the member's own lines, so `/consolidate` forms real facts; judgements answer in the
//! JSON their prompts ask for; the status line and proactive posts are small talk.

use fakes::{OpenAiRequest, Reply};
use serde_json::{Value, json};

/// The reply for every request the fake OpenAI server gets.
pub fn sandbox_model() -> Reply {
    Reply::with(answer)
}

fn answer(req: &OpenAiRequest) -> Reply {
    let prompt = req.prompt_text();
    let has = |s: &str| prompt.contains(s);
    if has("help a Discord persona remember members") {
        return Reply::json(extract(&req.user_text()));
    }
    if has("Compare a stored fact with a newly extracted one") {
        return Reply::json(json!({ "verdict": merge_verdict(&req.user_text()) }));
    }
    if has("is addressed to") && has("\"addressed\"") {
        return Reply::json(json!({ "addressed": 0.8 }));
    }
    if has("feels about one member") {
        let rude = ["stupid", "shut up", "hate you", "idiot"]
            .iter()
            .any(|w| req.user_text().to_lowercase().contains(w));
        return Reply::json(if rude {
            json!({"anger": 1, "rapport": -1, "trust": 0, "formality": 0, "reason": "they were rude"})
        } else {
            json!({"anger": 0, "rapport": 1, "trust": 0, "formality": 0, "reason": "a friendly chat"})
        });
    }
    if has("Write your Discord custom status") {
        return Reply::text(pick(&prompt, STATUS_LINES));
    }
    if has("feel like chiming in") {
        return Reply::text(pick(&prompt, COMMENTS));
    }
    if has("Share a passing thought") {
        return Reply::text(pick(&prompt, MUSINGS));
    }
    Reply::text(reply_to(&req.last_user_text()))
}

const STATUS_LINES: &[&str] = &[
    "brewing tea and thinking about nothing much",
    "reorganising my bookshelf, again",
    "half awake, fully curious",
    "listening to rain and old records",
];
const COMMENTS: &[&str] = &[
    "Ha, that reminds me of something I read this morning.",
    "Okay, now I really want to try that too.",
    "I love how this chat always ends up here.",
];
const MUSINGS: &[&str] = &[
    "Is it just me or does tea taste better when it's raining?",
    "Spent the morning sorting old photos. So many bad haircuts.",
    "I keep meaning to learn to juggle. Today might be the day.",
];

/// One of `options`, the same one for the same prompt.
fn pick(prompt: &str, options: &[&'static str]) -> &'static str {
    let hash = prompt
        .bytes()
        .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
    options[hash % options.len()]
}

/// A short answer that shows the message was read.
fn reply_to(message: &str) -> String {
    // The message answered is the turn's last chat line: `[time] name (tag): text`.
    let last = message
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(message);
    let text = last
        .split_once("] ")
        .and_then(|(_, rest)| rest.split_once(": "))
        .map_or(last, |(_, text)| text)
        .trim()
        .trim_start_matches(|c: char| c == '<' || c == '@' || c.is_ascii_digit() || c == '>')
        .trim();
    let lower = text.to_lowercase();
    if lower.is_empty() {
        return "Hey! What's up?".to_owned();
    }
    if ["hi", "hello", "hey", "yo"]
        .iter()
        .any(|g| lower.starts_with(g))
    {
        return "Hey you! Good to see you. What are you up to?".to_owned();
    }
    if lower.ends_with('?') {
        return "Good question. I'd say yes, probably, but ask me again after my tea.".to_owned();
    }
    let snippet: String = text.chars().take(60).collect();
    format!("Oh, \"{snippet}\"? I'll remember that. Tell me more!")
}

/// Facts from the member's own lines (those marked `(them)`).
fn extract(log: &str) -> Value {
    let mut facts = Vec::new();
    for line in log.lines().filter(|l| l.contains("(them):")) {
        let Some((_, text)) = line.split_once("(them):") else {
            continue;
        };
        for sentence in text.split(['.', '!', '?', ';']) {
            if let Some(fact) = fact_in(sentence)
                && !facts.iter().any(|f: &Value| f["fact"] == json!(fact.0))
            {
                facts.push(json!({ "fact": fact.0, "category": fact.1 }));
            }
        }
    }
    json!({ "facts": facts })
}

/// "I like green tea" → ("likes green tea", "preference"), and a few more shapes.
fn fact_in(sentence: &str) -> Option<(String, &'static str)> {
    let s = sentence.trim().to_lowercase().replace('’', "'");
    let s = s.trim_start_matches(|c: char| !c.is_alphanumeric());
    const SHAPES: &[(&str, &str, &str)] = &[
        ("i really like ", "likes ", "preference"),
        ("i like ", "likes ", "preference"),
        ("i love ", "loves ", "preference"),
        ("i enjoy ", "enjoys ", "preference"),
        ("i hate ", "dislikes ", "preference"),
        ("i don't like ", "dislikes ", "preference"),
        ("i play ", "plays ", "preference"),
        ("i work as ", "works as ", "personal"),
        ("i'm a ", "is a ", "personal"),
        ("i am a ", "is a ", "personal"),
        ("i'm an ", "is an ", "personal"),
        ("i live in ", "lives in ", "personal"),
        ("i have a ", "has a ", "personal"),
        ("i study ", "studies ", "personal"),
        ("i'm learning ", "is learning ", "personal"),
    ];
    // "@Aria I like tea": the shape may follow a mention or a greeting.
    let after = |start: &str| {
        s.match_indices(start)
            .find(|(i, _)| *i == 0 || s[..*i].ends_with(' '))
            .map(|(i, _)| &s[i + start.len()..])
    };
    for (start, becomes, category) in SHAPES {
        if let Some(rest) = after(start) {
            let rest = rest.split(',').next()?.trim();
            if rest.len() >= 2 && rest.split_whitespace().count() <= 8 {
                return Some((format!("{becomes}{rest}"), category));
            }
        }
    }
    let rest = after("my ")?;
    let (what, value) = rest.split_once(" is ")?;
    let value = value.split(',').next()?.trim();
    (what.split_whitespace().count() <= 3 && !value.is_empty())
        .then(|| (format!("their {what} is {value}"), "personal"))
}

/// "duplicate" when the stored and new facts say the same words, else "new".
fn merge_verdict(turn: &str) -> &'static str {
    let part = |label: &str| {
        turn.split(label)
            .nth(1)
            .and_then(|r| r.lines().map(str::trim).find(|l| !l.is_empty()))
            .unwrap_or_default()
            .to_lowercase()
    };
    let (old, new) = (part("Stored fact:"), part("New fact:"));
    if !old.is_empty() && old == new {
        "duplicate"
    } else {
        "new"
    }
}
