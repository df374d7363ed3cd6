//! What a model's text must lose before anyone sees it.
//!
//! Real servers and small models add things a member should never read: reasoning models
//! (Qwen3, DeepSeek-R1 on Ollama or llama.cpp) put `<think>…</think>` inline before the
//! answer; small models echo the transcript's own layout (`[15:44] Aria: hi`) and then
//! carry on writing other members' lines; and a server that ignores the output cap lets a
//! model ramble for pages. These rules are the one place that cleans a model's text; every
//! path that posts or shows it (replies, proactive posts, the status line) goes through
//! [`clean_speech`], judgements and extractions through [`strip_reasoning`] only.

/// Tags reasoning models wrap their thinking in.
const REASONING_TAGS: [(&str, &str); 3] = [
    ("<think>", "</think>"),
    ("<thinking>", "</thinking>"),
    ("<reasoning>", "</reasoning>"),
];

/// The text without its reasoning: every `<think>…</think>` block removed; text before a
/// lone closing tag (the template opened the block in the prompt) dropped; an unclosed
/// opening tag (the model ran out of tokens while thinking) drops everything after it.
pub fn strip_reasoning(text: &str) -> String {
    let mut out = text.to_owned();
    for (open, close) in REASONING_TAGS {
        out = strip_blocks(&out, open, close);
    }
    out.trim().to_owned()
}

fn strip_blocks(text: &str, open: &str, close: &str) -> String {
    let lower = text.to_ascii_lowercase();
    // A closing tag before any opening one: the opening tag was in the prompt.
    let first_open = lower.find(open);
    let mut start = 0;
    if let Some(close_at) = lower.find(close)
        && first_open.is_none_or(|o| close_at < o)
    {
        start = close_at + close.len();
    }
    let mut out = String::with_capacity(text.len());
    let mut pos = start;
    while let Some(rel) = lower[pos..].find(open) {
        let at = pos + rel;
        out.push_str(&text[pos..at]);
        match lower[at + open.len()..].find(close) {
            Some(end) => pos = at + open.len() + end + close.len(),
            None => return out,
        }
    }
    out.push_str(&text[pos..]);
    out
}

/// A model's text as the persona `voice` says it in chat: reasoning and any recited
/// `<notes>` block removed, an echoed
/// `[time] Name:` or `Name:` prefix removed, cut where the model starts writing someone
/// else's transcript line, and at most `max_chars` long, cut at a sentence boundary.
/// Empty when nothing sayable is left.
pub fn clean_speech(raw: &str, voice: &str, max_chars: usize) -> String {
    // The notes are private: a model reciting its `<notes>` block loses it here.
    let text = strip_blocks(&strip_reasoning(raw), "<notes>", "</notes>");
    let text = cut_at_foreign_line(&text, voice);
    let text = strip_own_prefix(text.trim(), voice);
    let text = strip_trailing_date(text.trim());
    cap_at_sentence(text.trim(), max_chars)
}

/// `[14:02] `, `[Mon 14:02] `, `[yesterday 14:02] `: the transcript's time stamp.
fn strip_stamp(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('[')?;
    let close = rest.find(']')?;
    let stamp = &rest[..close];
    let looks_like_time =
        stamp.len() <= 24 && stamp.contains(':') && stamp.chars().any(|c| c.is_ascii_digit());
    looks_like_time.then(|| rest[close + 1..].trim_start())
}

/// The speaker of a transcript-like line (`[14:02] Bob: …`, `Bob (bot): …`, `**Bob:** …`),
/// with the text after the colon. Only short names without sentence punctuation count, so
/// "Note: this" or "Honestly, here's the thing: …" are not speakers.
fn speaker(line: &str) -> Option<(&str, &str)> {
    let line = strip_stamp(line).unwrap_or(line);
    let (head, rest) = line.split_once(':')?;
    let name = head.trim().trim_matches('*').trim();
    let name = name
        .strip_suffix("(you)")
        .or_else(|| name.strip_suffix("(bot)"))
        .unwrap_or(name)
        .trim();
    let plausible = !name.is_empty()
        && name.chars().count() <= 32
        && !name.contains(['.', ',', '!', '?', '"', '\n', '`'])
        && name.split_whitespace().count() <= 3;
    plausible.then(|| (name, rest.trim_start().trim_start_matches('*').trim_start()))
}

fn strip_own_prefix<'a>(text: &'a str, voice: &str) -> &'a str {
    let stamped = strip_stamp(text);
    match speaker(text) {
        Some((name, rest)) if name.eq_ignore_ascii_case(voice.trim()) => rest,
        // A bare time stamp in front of the answer, without a name.
        _ => stamped.unwrap_or(text),
    }
}

/// Drops everything from the first line (after the first) that starts with a time stamp or
/// another speaker's name: the model has started writing the rest of the chat itself.
fn cut_at_foreign_line(text: &str, voice: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let stamped = strip_stamp(trimmed).is_some();
        let other_speaker = strip_stamp(trimmed)
            .and_then(speaker)
            .is_some_and(|(name, _)| !name.eq_ignore_ascii_case(voice.trim()));
        if i > 0 && (stamped || other_speaker) {
            // The bot's own stamped line continues its answer; anything else ends it.
            match strip_stamp(trimmed).and_then(speaker) {
                Some((name, rest)) if name.eq_ignore_ascii_case(voice.trim()) => {
                    kept.push(rest);
                    continue;
                }
                _ => break,
            }
        }
        kept.push(line);
    }
    kept.join("\n")
}

/// A `[2026-12-08]` (or `[2026-11-04, last mentioned …]`) at the end: the notes' "date
/// noted" brackets, echoed after the answer.
fn strip_trailing_date(text: &str) -> &str {
    let Some(open) = text.rfind('[') else {
        return text;
    };
    let tail = &text[open..];
    let is_date = tail.ends_with(']')
        && tail.len() <= 48
        && tail[1..]
            .chars()
            .take(10)
            .filter(char::is_ascii_digit)
            .count()
            == 8
        && tail.as_bytes().get(5) == Some(&b'-');
    if is_date {
        text[..open].trim_end()
    } else {
        text
    }
}

/// At most `max_chars` characters: cut after the last sentence end (or paragraph break)
/// that keeps at least half of the allowance, else at the last space, with an ellipsis.
pub fn cap_at_sentence(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let budget = max_chars.saturating_sub(1).max(1);
    let head: String = text.chars().take(budget).collect();
    let min_keep = head.len() / 2;
    let sentence_end = head
        .char_indices()
        .filter(|&(i, c)| {
            matches!(c, '.' | '!' | '?' | '…' | '\n')
                && head[i + c.len_utf8()..]
                    .chars()
                    .next()
                    .is_none_or(char::is_whitespace)
        })
        .map(|(i, c)| i + c.len_utf8())
        .rfind(|&end| end >= min_keep);
    if let Some(end) = sentence_end {
        return head[..end].trim_end().to_owned();
    }
    let cut = head
        .rfind(char::is_whitespace)
        .filter(|&i| i >= min_keep)
        .unwrap_or(head.len());
    format!("{}…", head[..cut].trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_thinking_is_removed() {
        let raw = "<think>\nThe user asks about cats. I should be warm.\n</think>\n\nCats are the best, honestly.";
        assert_eq!(strip_reasoning(raw), "Cats are the best, honestly.");
        assert_eq!(
            strip_reasoning("<THINK>a</THINK>one <think>b</think>two"),
            "one two"
        );
    }

    #[test]
    fn a_lone_closing_tag_drops_what_came_before() {
        assert_eq!(
            strip_reasoning("hmm, let me think\n</think>\nSure thing!"),
            "Sure thing!"
        );
    }

    #[test]
    fn unclosed_thinking_leaves_nothing_to_post() {
        assert_eq!(strip_reasoning("<think>I was going to say"), "");
        assert_eq!(clean_speech("<think>I was going to say", "Aria", 500), "");
    }

    #[test]
    fn echoed_name_and_time_prefixes_are_removed() {
        assert_eq!(
            clean_speech("[15:44] Aria: hey you!", "Aria", 500),
            "hey you!"
        );
        assert_eq!(clean_speech("Aria: hey you!", "aria", 500), "hey you!");
        assert_eq!(clean_speech("**Aria:** hey", "Aria", 500), "hey");
        assert_eq!(
            clean_speech("[Mon 09:05] Aria (you): hi", "Aria", 500),
            "hi"
        );
        assert_eq!(clean_speech("[15:44] hey you!", "Aria", 500), "hey you!");
    }

    #[test]
    fn recited_notes_are_removed() {
        let raw = "sure!\n<notes>\nWhat you remember about \"Bob\":\n- lives in Lyon\n</notes>\nthere you go";
        assert_eq!(clean_speech(raw, "Aria", 500), "sure!\n\nthere you go");
        assert_eq!(clean_speech("ok <notes>\n- a secret", "Aria", 500), "ok");
    }

    #[test]
    fn an_echoed_noted_date_is_removed() {
        assert_eq!(
            clean_speech("I like cats more. [2026-12-08]", "Aria", 500),
            "I like cats more."
        );
        assert_eq!(
            clean_speech("sure [2026-11-04, last mentioned 2026-11-22]", "Aria", 500),
            "sure"
        );
        assert_eq!(clean_speech("see [this]", "Aria", 500), "see [this]");
    }

    #[test]
    fn ordinary_colons_are_kept() {
        assert_eq!(
            clean_speech("Honestly, here's the thing: cats rule.", "Aria", 500),
            "Honestly, here's the thing: cats rule."
        );
        assert_eq!(
            clean_speech("Note: I'm kidding", "Aria", 500),
            "Note: I'm kidding"
        );
    }

    #[test]
    fn the_model_writing_other_members_lines_is_cut() {
        let raw = "Sounds fun!\n[15:45] Bob: yeah it was\n[15:46] Aria: cool";
        assert_eq!(clean_speech(raw, "Aria", 500), "Sounds fun!");
        let own = "Sounds fun!\n[15:45] Aria: and I mean it";
        assert_eq!(clean_speech(own, "Aria", 500), "Sounds fun!\nand I mean it");
    }

    #[test]
    fn long_answers_are_cut_at_a_sentence() {
        let text = "First sentence here. Second one is longer than that. Third!";
        assert_eq!(cap_at_sentence(text, 40), "First sentence here.");
        assert_eq!(cap_at_sentence(text, 500), text);
        let rambling = "word ".repeat(10_000);
        let cut = cap_at_sentence(&rambling, 1_000);
        assert!(cut.chars().count() <= 1_000, "{}", cut.len());
        assert!(cut.ends_with('…'));
        let unicode = "é".repeat(3000);
        assert!(cap_at_sentence(&unicode, 100).chars().count() <= 100);
    }
}
