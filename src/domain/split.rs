//! Cutting a long answer into Discord-sized messages.
//!
//! Discord refuses messages over 2,000 characters (Unicode scalar values, not bytes).
//! Cuts prefer the most natural boundary available: paragraph, line, sentence, word,
//! and only then a hard cut. A ``` code block is never cut unless it alone is longer
//! than the limit; then each piece is closed and reopened with the same language tag
//! so every message renders as code.

/// Discord's limit for a normal message.
pub const DISCORD_LIMIT: usize = 2000;

const FENCE: &str = "```";
const CLOSE: &str = "\n```";

/// Splits `text` into trimmed, non-empty parts of at most `limit` characters.
pub fn split_message(text: &str, limit: usize) -> Vec<String> {
    let limit = limit.max(1);
    let mut parts = Vec::new();
    let mut rest: String = text.trim().to_owned();
    while !rest.is_empty() {
        if rest.chars().count() <= limit {
            parts.push(std::mem::take(&mut rest));
            break;
        }
        let (part, next) = cut(&rest, limit);
        let part = part.trim();
        if !part.is_empty() {
            parts.push(part.to_owned());
        }
        rest = next.trim().to_owned();
    }
    parts
}

/// One code block found in the text: byte range `[start, end)` including fences.
#[derive(Clone, Debug)]
struct Block {
    start: usize,
    end: usize,
    /// Byte offset where the code starts (after the opening fence line).
    body: usize,
    lang: String,
}

fn code_blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut pos = 0;
    while let Some(rel) = text[pos..].find(FENCE) {
        let start = pos + rel;
        let after = start + FENCE.len();
        let line_end = text[after..].find('\n').map_or(text.len(), |i| after + i);
        let tag = text[after..line_end].trim();
        let is_tag = !tag.is_empty()
            && tag
                .chars()
                .all(|c| c.is_alphanumeric() || "+-#_.".contains(c))
            && !tag.contains(FENCE);
        let (body, lang) = if is_tag || tag.is_empty() {
            ((line_end + 1).min(text.len()), tag.to_owned())
        } else {
            (after, String::new())
        };
        let search_from = body.max(after);
        let end = match text[search_from..].find(FENCE) {
            Some(i) => search_from + i + FENCE.len(),
            None => text.len(),
        };
        blocks.push(Block {
            start,
            end,
            body,
            lang,
        });
        pos = end;
    }
    blocks
}

/// Byte offset just past the first `n` chars of `s` (or `s.len()`).
fn byte_at_char(s: &str, n: usize) -> usize {
    s.char_indices().nth(n).map_or(s.len(), |(i, _)| i)
}

/// Returns the first part and the remaining text.
fn cut(rest: &str, limit: usize) -> (String, String) {
    let window = byte_at_char(rest, limit);
    let blocks = code_blocks(rest);
    // A block that starts inside the window but does not end inside it.
    let crossing = blocks.iter().find(|b| b.start < window && b.end > window);

    if let Some(block) = crossing {
        let block_chars = rest[block.start..block.end].chars().count();
        if block_chars > limit
            && let Some(split) = split_inside(rest, block, limit)
        {
            return split;
        }
        // The block fits in a message of its own (or cannot be split cleanly):
        // cut before it if there is anything before it.
        if block.start > 0 {
            let cut_at = best_cut(rest, block.start, &blocks).unwrap_or(block.start);
            return (rest[..cut_at].to_owned(), rest[cut_at..].to_owned());
        }
    }
    let cut_at = best_cut(rest, window, &blocks).unwrap_or(window);
    let cut_at = if cut_at == 0 {
        window.max(first_char_len(rest))
    } else {
        cut_at
    };
    (rest[..cut_at].to_owned(), rest[cut_at..].to_owned())
}

fn first_char_len(s: &str) -> usize {
    s.chars().next().map_or(0, char::len_utf8)
}

/// Splits inside an oversized code block: the part ends with a closing fence and the
/// rest starts with the opening fence (same language tag). `None` if the fences
/// themselves leave no room (absurdly small limits).
fn split_inside(rest: &str, block: &Block, limit: usize) -> Option<(String, String)> {
    let reopen = format!("{FENCE}{}\n", block.lang);
    let overhead = CLOSE.chars().count() + reopen.chars().count();
    if overhead * 2 >= limit {
        return None;
    }
    let room = byte_at_char(rest, limit - CLOSE.chars().count());
    // The code area available in this part.
    let lo = block.body;
    let hi = room.min(block.end);
    if hi <= lo {
        return None;
    }
    let area = &rest[lo..hi];
    // Prefer the last line break, but not one that leaves the part nearly empty.
    let min_keep = (hi - lo) / 4;
    let cut_at = match area.rfind('\n') {
        Some(i) if i > min_keep => lo + i,
        _ => hi,
    };
    let mut part = rest[..cut_at].trim_end_matches('\n').to_owned();
    part.push_str(CLOSE);
    let body_rest = rest[cut_at..].strip_prefix('\n').unwrap_or(&rest[cut_at..]);
    let mut next = reopen;
    next.push_str(body_rest);
    Some((part, next))
}

/// The best cut position at or before byte `window`, outside code blocks.
/// Tries paragraph, line, sentence and word boundaries in that order, each only if it
/// keeps at least a quarter of the window (so a part is not absurdly short); then the
/// latest boundary of any kind.
fn best_cut(rest: &str, window: usize, blocks: &[Block]) -> Option<usize> {
    let head = &rest[..window];
    let allowed = |pos: usize| pos > 0 && !blocks.iter().any(|b| pos > b.start && pos < b.end);
    let min_keep = window / 4;
    let finders: [fn(&str) -> Vec<usize>; 4] = [
        |h| h.match_indices("\n\n").map(|(i, _)| i).collect(),
        |h| h.match_indices('\n').map(|(i, _)| i).collect(),
        sentence_ends,
        |h| h.match_indices([' ', '\t']).map(|(i, _)| i).collect(),
    ];
    let mut fallback = None;
    for find in finders {
        if let Some(pos) = find(head).into_iter().rev().find(|p| allowed(*p)) {
            if pos >= min_keep {
                return Some(pos);
            }
            fallback = fallback.max(Some(pos));
        }
    }
    fallback
}

/// Positions just after `.`, `!`, `?` or `…` followed by whitespace.
fn sentence_ends(head: &str) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut chars = head.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if matches!(c, '.' | '!' | '?' | '…')
            && chars.peek().is_some_and(|(_, n)| n.is_whitespace())
        {
            ends.push(i + c.len_utf8());
        }
    }
    ends
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> usize {
        s.chars().count()
    }

    fn paragraph(n: usize, len: usize) -> String {
        let mut p = format!("Paragraph {n}.");
        while p.len() < len {
            p.push_str(" words go here.");
        }
        p.truncate(len - 1);
        p.push('.');
        p
    }

    #[test]
    fn short_text_is_one_part() {
        assert_eq!(split_message("  hello  ", 2000), vec!["hello"]);
        assert!(split_message("   \n ", 2000).is_empty());
    }

    #[test]
    fn paragraphs_of_4500_chars_make_three_parts() {
        let text: String = (0..15)
            .map(|i| paragraph(i, 298))
            .collect::<Vec<_>>()
            .join("\n\n");
        assert!((4400..=4600).contains(&chars(&text)), "{}", chars(&text));
        let parts = split_message(&text, DISCORD_LIMIT);
        assert_eq!(parts.len(), 3);
        for p in &parts {
            assert!(chars(p) <= DISCORD_LIMIT);
            assert!(p.starts_with("Paragraph"), "cut mid-paragraph: {p:.40}");
            assert!(p.ends_with('.'));
        }
        assert_eq!(parts.join("\n\n"), text);
    }

    #[test]
    fn falls_back_to_lines_sentences_words_then_hard_cut() {
        let lines = "line one is here\nline two is here\nline three";
        assert_eq!(
            split_message(lines, 20),
            vec!["line one is here", "line two is here", "line three"]
        );
        let sentences = "First sentence here. Second one here. Third.";
        assert_eq!(
            split_message(sentences, 25),
            vec!["First sentence here.", "Second one here. Third."]
        );
        let words = "alpha beta gamma delta epsilon";
        assert!(
            split_message(words, 12)
                .iter()
                .all(|p| chars(p) <= 12 && !p.contains("  "))
        );
        let blob = "x".repeat(25);
        assert_eq!(
            split_message(&blob, 10),
            vec!["x".repeat(10), "x".repeat(10), "x".repeat(5)]
        );
    }

    #[test]
    fn code_block_is_kept_whole() {
        let code = format!("```rust\n{}```", "let x = 1;\n".repeat(60));
        let text = format!(
            "{}\n\nHere is the code:\n{code}\n\nDone.",
            paragraph(0, 1500)
        );
        let parts = split_message(&text, DISCORD_LIMIT);
        assert!(parts.iter().all(|p| chars(p) <= DISCORD_LIMIT));
        let with_code: Vec<_> = parts.iter().filter(|p| p.contains("```")).collect();
        assert_eq!(with_code.len(), 1);
        assert!(with_code[0].contains(&code));
    }

    #[test]
    fn giant_code_block_is_fenced_in_every_part() {
        let body: String = (0..400).map(|i| format!("print({i})  # line\n")).collect();
        let text = format!("Sure:\n```python\n{body}```\nThat's it.");
        let parts = split_message(&text, DISCORD_LIMIT);
        assert!(parts.len() >= 4);
        for (i, p) in parts.iter().enumerate() {
            assert!(chars(p) <= DISCORD_LIMIT, "part {i} has {}", chars(p));
            assert_eq!(
                p.matches("```").count() % 2,
                0,
                "unbalanced fences in part {i}"
            );
            if i > 0 {
                assert!(
                    p.starts_with("```python\n"),
                    "part {i} not reopened: {p:.20}"
                );
            }
        }
        // Every code line survives intact and in order.
        let joined = parts.join("\n");
        let lines: Vec<_> = joined.lines().filter(|l| l.starts_with("print(")).collect();
        assert_eq!(lines.len(), 400);
        assert!(
            lines
                .iter()
                .enumerate()
                .all(|(i, l)| *l == format!("print({i})  # line"))
        );
        assert!(parts.last().is_some_and(|p| p.ends_with("That's it.")));
    }

    #[test]
    fn giant_block_without_newlines_is_hard_cut_but_fenced() {
        let text = format!("```\n{}\n```", "y".repeat(5000));
        let parts = split_message(&text, DISCORD_LIMIT);
        assert_eq!(parts.len(), 3);
        for p in &parts {
            assert!(chars(p) <= DISCORD_LIMIT);
            assert!(p.starts_with("```\n") && p.ends_with("```"));
        }
    }

    #[test]
    fn counts_chars_not_bytes() {
        let text = "é".repeat(3000);
        let parts = split_message(&text, DISCORD_LIMIT);
        assert_eq!(
            parts.iter().map(|p| chars(p)).collect::<Vec<_>>(),
            vec![2000, 1000]
        );
        let emoji = "🦀 ".repeat(1500);
        let parts = split_message(&emoji, DISCORD_LIMIT);
        assert!(parts.iter().all(|p| chars(p) <= DISCORD_LIMIT));
        assert_eq!(parts.concat().matches('🦀').count(), 1500);
        let cjk = "日本語の文章です。".repeat(300);
        assert!(split_message(&cjk, 100).iter().all(|p| chars(p) <= 100));
    }

    #[test]
    fn tiny_limits_terminate() {
        let text = "```rust\nfn main() {}\n```";
        for limit in [0, 1, 3, 7] {
            let parts = split_message(text, limit);
            assert!(parts.iter().all(|p| chars(p) <= limit.max(1)));
        }
    }
}
