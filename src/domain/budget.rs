//! Token budgeting: how much of each part (persona, facts, replied-to text, transcript)
//! fits in the prompt, and how many tokens a whole chat request costs.
//!
//! Counting uses OpenAI's `o200k_base` BPE (GPT-4o and later), bundled in tiktoken-rs,
//! built once per process. Other model families tokenize differently, so budgets should
//! keep a margin; [`estimate_tokens`] is a cheaper upper-ish estimate for hot paths.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash as _, Hasher as _};
use std::sync::{Mutex, OnceLock};

use tiktoken_rs::CoreBPE;

use super::chat_turn::ChatTurn;
use super::ids::MessageId;
use super::model::LoggedMessage;

/// Token budgets of the reply prompt (settings `bot.*_token_budget`). `total` bounds the
/// whole request; the others bound each part, and the transcript gets what is left, up to
/// `transcript`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PromptBudget {
    pub total: usize,
    pub transcript: usize,
    pub persona: usize,
    pub facts: usize,
    pub reply_to: usize,
}

/// Tokens a model server reported for its answers. `cached` is the part of `prompt` the
/// provider served from its prefix cache (`prompt_tokens_details.cached_tokens`), the
/// measure of how well the static-first layout works.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenUsage {
    pub prompt: u64,
    pub completion: u64,
    pub cached: u64,
    /// How many answers these totals cover.
    pub requests: u64,
}

impl TokenUsage {
    pub fn add(&mut self, other: TokenUsage) {
        self.prompt += other.prompt;
        self.completion += other.completion;
        self.cached += other.cached;
        self.requests += other.requests;
    }
}

/// Which end of a text to keep when it is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    Start,
    End,
}

/// Framing tokens OpenAI adds per message (role and separators) and to prime the answer.
const TOKENS_PER_TURN: usize = 4;
const TOKENS_PER_REQUEST: usize = 3;

/// Marks text cut from the front of a message.
pub const ELLIPSIS: &str = "…";

fn bpe() -> Option<&'static CoreBPE> {
    static BPE: OnceLock<Option<CoreBPE>> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::o200k_base().ok()).as_ref()
}

/// Tokens in `text` with the o200k_base tokenizer. Special-token text such as
/// `<|endoftext|>` typed by a member is counted as ordinary text.
/// Falls back to [`estimate_tokens`] if the bundled tokenizer could not be built.
pub fn count_tokens(text: &str) -> usize {
    let Some(bpe) = bpe() else {
        return estimate_tokens(text);
    };
    // Each reply re-counts a transcript that is mostly the same as last time, and BPE
    // encoding is the costliest step of building a prompt (about 1 ms for 300 messages),
    // so counts are remembered by the text's 64-bit hash. Bounded: cleared when full.
    const MAX_CACHED: usize = 50_000;
    static COUNTS: OnceLock<Mutex<HashMap<u64, usize>>> = OnceLock::new();
    let key = {
        let mut hasher = std::hash::DefaultHasher::new();
        text.hash(&mut hasher);
        hasher.finish()
    };
    let counts = COUNTS.get_or_init(Mutex::default);
    if let Some(n) = counts.lock().ok().and_then(|c| c.get(&key).copied()) {
        return n;
    }
    let n = bpe.encode_ordinary(text).len();
    if let Ok(mut c) = counts.lock() {
        if c.len() >= MAX_CACHED {
            c.clear();
        }
        c.insert(key, n);
    }
    n
}

/// A cheap estimate with no tokenizer: one token per 4 bytes of ASCII-ish text, one per
/// non-ASCII character beyond that (CJK and emoji cost about a token per character),
/// and never fewer than the number of words. Usually within ±30% of o200k_base and
/// rarely below it.
pub fn estimate_tokens(text: &str) -> usize {
    let ascii = text.bytes().filter(u8::is_ascii).count();
    let non_ascii = text.chars().filter(|c| !c.is_ascii()).count();
    let words = text.split_whitespace().count();
    (ascii.div_ceil(4) + non_ascii).max(words)
}

/// Tokens a chat request costs: every turn's text plus the framing around each turn.
///
/// A turn is counted line by line (each line with its newline), so the counts of lines seen
/// in earlier replies come from the cache: a transcript turn changes with every message, but
/// almost all of its lines do not. o200k's pre-split keeps words apart from line breaks, so
/// cutting at a newline can only split a run of whitespace: the sum equals the whole text's
/// count or exceeds it by a token now and then (blank lines), erring on the safe side.
pub fn chat_tokens(turns: &[ChatTurn]) -> usize {
    TOKENS_PER_REQUEST
        + turns
            .iter()
            .map(|t| TOKENS_PER_TURN + text_tokens(&t.content))
            .sum::<usize>()
}

/// A text's tokens, counted line by line through the cache.
fn text_tokens(text: &str) -> usize {
    text.split_inclusive('\n').map(count_tokens).sum()
}

/// The longest prefix of `items` (best first) whose costs add up to at most `budget`.
pub fn fit_prefix<T: Clone>(items: &[T], budget: usize, cost: impl Fn(&T) -> usize) -> Vec<T> {
    let mut total = 0;
    items
        .iter()
        .take_while(|item| {
            total += cost(item);
            total <= budget
        })
        .cloned()
        .collect()
}

/// `text` cut to at most `budget` tokens, keeping its `keep` end and marking the cut with
/// "…"; empty when even "…" does not fit.
pub fn truncate_text(text: &str, budget: usize, keep: Keep) -> String {
    if count_tokens(text) <= budget {
        return text.to_owned();
    }
    let starts: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    // The text with `k` characters cut from the dropped end.
    let cut = |k: usize| match keep {
        Keep::Start => {
            let to = starts.get(starts.len() - k).copied().unwrap_or(0);
            format!("{}{ELLIPSIS}", text[..to].trim_end())
        }
        Keep::End => {
            let from = starts.get(k).copied().unwrap_or(text.len());
            format!("{ELLIPSIS}{}", text[from..].trim_start())
        }
    };
    if count_tokens(ELLIPSIS) > budget {
        return String::new();
    }
    // Smallest k that fits; the cost shrinks as k grows, and k = len leaves only "…".
    let (mut lo, mut hi) = (1, starts.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if count_tokens(&cut(mid)) <= budget {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    cut(hi)
}

/// Fits a chronological transcript into `budget_tokens`.
///
/// Every message in `keep` (the reply chain and the trigger) is kept, then the newest
/// other messages while they fit; older ones are dropped, and the newest-first walk stops
/// at the first message that does not fit so the transcript has no holes. The result is
/// in the input order. If the kept messages alone exceed the budget, the oldest kept
/// message loses text from its front (marked with "…"), then is dropped, then the next.
/// The sum of `count_tokens(render(m))` over the result never exceeds the budget.
pub fn fit_transcript(
    messages: &[LoggedMessage],
    keep: &HashSet<MessageId>,
    budget_tokens: usize,
    render: impl Fn(&LoggedMessage) -> String,
) -> Vec<LoggedMessage> {
    let cost = |m: &LoggedMessage| count_tokens(&render(m));
    // (index in input, message, cost)
    let mut kept: Vec<(usize, LoggedMessage, usize)> = messages
        .iter()
        .enumerate()
        .filter(|(_, m)| keep.contains(&m.id))
        .map(|(i, m)| (i, m.clone(), cost(m)))
        .collect();

    let mut total: usize = kept.iter().map(|(_, _, c)| c).sum();
    while total > budget_tokens && !kept.is_empty() {
        let others: usize = kept[1..].iter().map(|(_, _, c)| c).sum();
        let allowed = budget_tokens.saturating_sub(others);
        let oldest = &kept[0].1;
        match truncate_front(oldest, allowed, &cost) {
            Some((shorter, c)) => {
                kept[0].1 = shorter;
                kept[0].2 = c;
                total = others + c;
            }
            None => {
                kept.remove(0);
                total = others;
            }
        }
    }

    let mut chosen: Vec<(usize, LoggedMessage)> =
        kept.into_iter().map(|(i, m, _)| (i, m)).collect();
    for (i, m) in messages.iter().enumerate().rev() {
        if keep.contains(&m.id) {
            continue;
        }
        let c = cost(m);
        if total + c > budget_tokens {
            break;
        }
        total += c;
        chosen.push((i, m.clone()));
    }
    chosen.sort_by_key(|(i, _)| *i);
    chosen.into_iter().map(|(_, m)| m).collect()
}

/// The message with as little text cut from its front as needed to cost at most
/// `allowed` tokens; `None` if even "…" alone does not fit.
fn truncate_front(
    msg: &LoggedMessage,
    allowed: usize,
    cost: &impl Fn(&LoggedMessage) -> usize,
) -> Option<(LoggedMessage, usize)> {
    let starts: Vec<usize> = msg.content.char_indices().map(|(i, _)| i).collect();
    let with_tail = |k: usize| {
        let mut m = msg.clone();
        let from = starts.get(k).copied().unwrap_or(msg.content.len());
        m.content = format!("{ELLIPSIS}{}", msg.content[from..].trim_start());
        m
    };
    // Smallest k (chars cut) whose cost fits; cost shrinks as k grows.
    let (mut lo, mut hi) = (1, starts.len());
    let last = with_tail(hi);
    let last_cost = cost(&last);
    if last_cost > allowed {
        return None;
    }
    let mut best = (last, last_cost);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let candidate = with_tail(mid);
        let c = cost(&candidate);
        if c <= allowed {
            best = (candidate, c);
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(best)
}

#[cfg(test)]
mod tests {
    #[test]
    fn counting_line_by_line_never_undercounts() {
        let text =
            "[12:00] Alice: hello there, how are you?\n  and a second line\n\n[12:01] Bob: fine!\n";
        let whole = count_tokens(text);
        let by_line = text_tokens(text);
        assert!(by_line >= whole, "{by_line} < {whole}");
        assert!(by_line <= whole + 2, "{by_line} vs {whole}");
    }

    use super::*;
    use crate::domain::ids::{ChannelId, UserId};
    use chrono::{TimeZone, Utc};
    use std::time::Instant;

    fn msg(id: u64, content: &str) -> LoggedMessage {
        LoggedMessage {
            id: MessageId(id),
            channel_id: ChannelId(1),
            guild_id: None,
            author_id: UserId(id % 3),
            author_name: format!("user{}", id % 3),
            is_bot: false,
            content: content.to_owned(),
            reply_to: None,
            created_at: Utc
                .timestamp_opt(1_700_000_000 + id as i64, 0)
                .single()
                .unwrap_or_default(),
        }
    }

    fn line(m: &LoggedMessage) -> String {
        format!("{}: {}\n", m.author_name, m.content)
    }

    fn total(ms: &[LoggedMessage]) -> usize {
        ms.iter().map(|m| count_tokens(&line(m))).sum()
    }

    fn ids(ms: &[LoggedMessage]) -> Vec<u64> {
        ms.iter().map(|m| m.id.0).collect()
    }

    #[test]
    fn counts_tokens() {
        assert_eq!(count_tokens(""), 0);
        assert!((1..=3).contains(&count_tokens("hello world")));
        // Special-token text from a member is plain text, not a control token.
        assert!(count_tokens("<|endoftext|>") > 1);
    }

    #[test]
    fn estimate_is_in_the_right_ballpark() {
        let samples = [
            "Hey, did anyone watch the match last night? That last goal was unreal.",
            "日本語の文章です。とても長いです。",
            "lol 😂😂😂",
        ];
        for s in samples {
            let (exact, est) = (count_tokens(s) as f64, estimate_tokens(s) as f64);
            assert!(
                est >= exact * 0.6 && est <= exact * 2.5,
                "{s}: exact {exact}, estimate {est}"
            );
        }
    }

    #[test]
    fn keeps_newest_within_budget() {
        let ms: Vec<_> = (1..=50)
            .map(|i| msg(i, "just a short chat line here"))
            .collect();
        let per = count_tokens(&line(&ms[0]));
        let fitted = fit_transcript(&ms, &HashSet::new(), per * 10 + per / 2, line);
        assert_eq!(ids(&fitted), (41..=50).collect::<Vec<_>>());
        assert!(total(&fitted) <= per * 10 + per / 2);
    }

    #[test]
    fn keeps_reply_chain_even_when_old() {
        let ms: Vec<_> = (1..=50)
            .map(|i| msg(i, "just a short chat line here"))
            .collect();
        let per = count_tokens(&line(&ms[0]));
        let keep: HashSet<_> = [MessageId(3), MessageId(50)].into_iter().collect();
        let fitted = fit_transcript(&ms, &keep, per * 5, line);
        assert_eq!(ids(&fitted), vec![3, 47, 48, 49, 50]);
    }

    #[test]
    fn everything_fits_when_budget_allows() {
        let ms: Vec<_> = (1..=5).map(|i| msg(i, "hi")).collect();
        assert_eq!(fit_transcript(&ms, &HashSet::new(), 10_000, line), ms);
        assert!(fit_transcript(&[], &HashSet::new(), 10, line).is_empty());
    }

    #[test]
    fn oversized_kept_message_is_cut_from_the_front() {
        let long = (0..400)
            .map(|i| format!("word{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let ms = vec![msg(1, &long), msg(2, "the trigger question?")];
        let keep: HashSet<_> = [MessageId(1), MessageId(2)].into_iter().collect();
        let budget = 100;
        let fitted = fit_transcript(&ms, &keep, budget, line);
        assert_eq!(ids(&fitted), vec![1, 2]);
        assert!(total(&fitted) <= budget);
        assert!(fitted[0].content.starts_with(ELLIPSIS));
        assert!(fitted[0].content.ends_with("word399"));
        assert!(
            total(&fitted) >= budget - 5,
            "cut too much: {}",
            total(&fitted)
        );
        assert_eq!(fitted[1].content, "the trigger question?");
    }

    #[test]
    fn drops_kept_messages_that_cannot_fit_at_all() {
        let ms = vec![msg(1, "older kept line"), msg(2, "trigger")];
        let keep: HashSet<_> = [MessageId(1), MessageId(2)].into_iter().collect();
        let trigger_cost = count_tokens(&line(&ms[1]));
        let fitted = fit_transcript(&ms, &keep, trigger_cost, line);
        assert_eq!(ids(&fitted), vec![2]);
        assert!(fit_transcript(&ms, &keep, 0, line).is_empty());
    }

    #[test]
    fn multibyte_truncation_is_on_char_boundaries() {
        let ms = vec![msg(1, &"日本語".repeat(200))];
        let keep: HashSet<_> = [MessageId(1)].into_iter().collect();
        let fitted = fit_transcript(&ms, &keep, 40, line);
        assert!(total(&fitted) <= 40);
        assert!(fitted[0].content.starts_with(ELLIPSIS));
    }

    #[test]
    fn prefix_stops_at_the_first_item_that_does_not_fit() {
        let items = ["aa", "bbb", "c", "dddd"];
        assert_eq!(fit_prefix(&items, 6, |s| s.len()), vec!["aa", "bbb", "c"]);
        assert_eq!(fit_prefix(&items, 4, |s| s.len()), vec!["aa"]);
        assert!(fit_prefix(&items, 1, |s| s.len()).is_empty());
    }

    #[test]
    fn text_is_cut_to_its_budget_at_either_end() {
        let text = (0..300)
            .map(|i| format!("word{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        for budget in [0, 1, 2, 5, 40, 299] {
            for keep in [Keep::Start, Keep::End] {
                let cut = truncate_text(&text, budget, keep);
                assert!(count_tokens(&cut) <= budget, "{budget} {keep:?}: {cut}");
            }
        }
        let start = truncate_text(&text, 40, Keep::Start);
        assert!(start.starts_with("word0 ") && start.ends_with(ELLIPSIS));
        assert!(count_tokens(&start) >= 35, "cut too much: {start}");
        let end = truncate_text(&text, 40, Keep::End);
        assert!(end.starts_with(ELLIPSIS) && end.ends_with("word299"));
        assert_eq!(truncate_text("short", 10, Keep::Start), "short");
        assert_eq!(truncate_text(&"日本".repeat(100), 0, Keep::End), "");
    }

    #[test]
    fn chat_tokens_count_text_and_framing() {
        let turns = [ChatTurn::system("hello world"), ChatTurn::user("hi")];
        assert_eq!(
            chat_tokens(&turns),
            3 + 2 * 4 + count_tokens("hello world") + count_tokens("hi")
        );
        assert_eq!(chat_tokens(&[]), 3);
    }

    /// Run with `cargo test --lib budget_timing -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing report, not a check"]
    fn budget_timing() {
        let t = Instant::now();
        let _ = count_tokens("warm up");
        let init = t.elapsed();
        let ms: Vec<_> = (0..5000u64)
            .map(|i| format!("user{}: message number {i}, short chat line :)", i % 7))
            .collect();
        let t = Instant::now();
        let exact: usize = ms.iter().map(|m| count_tokens(m)).sum();
        let exact_time = t.elapsed();
        let t = Instant::now();
        let est: usize = ms.iter().map(|m| estimate_tokens(m)).sum();
        let est_time = t.elapsed();
        println!("tokenizer init (first call): {init:?}");
        println!(
            "count_tokens x5000: {exact_time:?} ({exact} tokens); estimate_tokens: {est_time:?} ({est})"
        );
    }
}
