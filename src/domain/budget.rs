//! Token budgeting: how much of each part (persona, facts, replied-to text, transcript)
//! fits in the prompt, and how many tokens a whole chat request costs.
//!
//! Counting is [`count_tokens`] (see `token_count`): close to OpenAI's o200k_base, erring
//! high, with no table in memory.

use std::collections::HashSet;

use super::chat_turn::ChatTurn;
use super::ids::MessageId;
use super::model::LoggedMessage;
pub use super::token_count::count_tokens;

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

/// Tokens a chat request costs: every turn's text plus the framing around each turn.
///
pub fn chat_tokens(turns: &[ChatTurn]) -> usize {
    TOKENS_PER_REQUEST
        + turns
            .iter()
            .map(|t| TOKENS_PER_TURN + count_tokens(&t.content))
            .sum::<usize>()
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
    use super::*;
    use crate::domain::ids::{ChannelId, UserId};
    use chrono::{TimeZone, Utc};

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
}
