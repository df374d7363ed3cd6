//! The emote orchestrator's pure part: which emote names the model is offered, and
//! turning the `:name:` it writes back into something Discord renders.
//!
//! The model only ever sees and writes `:name:`; it never has to know an emoji id.
//! Rendering leaves code, URLs and existing Discord tokens alone, so a `:d:` inside
//! `https://a.b/c:d:e` or an already-rendered `<:x:123>` is never rewritten.

use super::ids::EmojiId;

/// A custom emoji of the server.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CustomEmote {
    pub id: EmojiId,
    pub name: String,
    pub animated: bool,
}

impl CustomEmote {
    /// The token Discord renders: `<:name:id>` or `<a:name:id>`.
    pub fn token(&self) -> String {
        let prefix = if self.animated { "a" } else { "" };
        format!("<{prefix}:{}:{}>", self.name, self.id)
    }
}

/// Standard emoji offered to the model after the server's own, most useful first.
/// Every name is a shortcode the `emojis` crate knows (checked by a test).
pub const STANDARD_EMOTES: [&str; 12] = [
    "smile",
    "joy",
    "heart",
    "thumbsup",
    "sob",
    "thinking",
    "eyes",
    "fire",
    "sparkles",
    "wave",
    "sweat_smile",
    "pleading_face",
];

/// The server's custom emotes.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EmoteCatalog {
    pub custom: Vec<CustomEmote>,
}

impl EmoteCatalog {
    pub fn new(custom: Vec<CustomEmote>) -> Self {
        Self { custom }
    }

    /// Names to offer the model: custom emotes first (deduplicated), then standard ones,
    /// at most `max` in total.
    pub fn prompt_names(&self, max: usize) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        let custom = self.custom.iter().map(|e| e.name.as_str());
        for name in custom.chain(STANDARD_EMOTES) {
            if names.len() >= max {
                break;
            }
            if is_emote_name(name) && !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
        names
    }

    /// Finds a custom emote by name: exact case first, then case-insensitive.
    pub fn find(&self, name: &str) -> Option<&CustomEmote> {
        self.custom.iter().find(|e| e.name == name).or_else(|| {
            self.custom
                .iter()
                .find(|e| e.name.eq_ignore_ascii_case(name))
        })
    }

    /// What `:name:` becomes, or `None` to leave it as typed.
    fn resolve(&self, name: &str) -> Option<String> {
        if let Some(emote) = self.find(name) {
            return Some(emote.token());
        }
        emojis::get_by_shortcode(name)
            .or_else(|| emojis::get_by_shortcode(&name.to_ascii_lowercase()))
            .map(|e| e.as_str().to_owned())
    }

    /// Replaces `:name:` with custom emote tokens or unicode emoji, outside code spans,
    /// code blocks, URLs and existing `<…>` tokens. Unknown names stay as typed.
    pub fn render(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            let rest = &text[i..];
            let skip = if let Some(after) = rest.strip_prefix("```") {
                Some(after.find("```").map_or(rest.len(), |j| j + 6))
            } else if let Some(after) = rest.strip_prefix('`') {
                after.find('`').map(|j| j + 2)
            } else if rest.starts_with('<') {
                discord_token_len(rest)
            } else if starts_url(rest) {
                Some(rest.find(char::is_whitespace).unwrap_or(rest.len()))
            } else {
                None
            };
            if let Some(len) = skip {
                out.push_str(&rest[..len]);
                i += len;
                continue;
            }
            if let Some(after) = rest.strip_prefix(':')
                && let Some(name_len) = emote_name_len(after)
                && let Some(rendered) = self.resolve(&after[..name_len])
            {
                out.push_str(&rendered);
                i += name_len + 2;
                continue;
            }
            let c_len = rest.chars().next().map_or(1, char::len_utf8);
            out.push_str(&rest[..c_len]);
            i += c_len;
        }
        out
    }
}

/// Discord emote names: 1–32 of `[A-Za-z0-9_]`, plus `+`/`-` for shortcodes like `+1`.
fn is_emote_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+-".contains(c))
}

/// Length of `name` in `name:…` if `s` starts with a valid emote name and a colon.
fn emote_name_len(s: &str) -> Option<usize> {
    let end = s.find(':')?;
    is_emote_name(&s[..end]).then_some(end)
}

/// Length of a `<…>` token (mention, emote, channel, timestamp) at the start of `s`.
fn discord_token_len(s: &str) -> Option<usize> {
    let close = s.find('>')?;
    let inner = &s[1..close];
    (!inner.is_empty()
        && inner.len() <= 100
        && !inner.contains(char::is_whitespace)
        && !inner.contains('<'))
    .then_some(close + 1)
}

fn starts_url(s: &str) -> bool {
    let head = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    head.starts_with("http://") || head.starts_with("https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> EmoteCatalog {
        EmoteCatalog::new(vec![
            CustomEmote {
                id: EmojiId(111),
                name: "pepeLaugh".into(),
                animated: false,
            },
            CustomEmote {
                id: EmojiId(222),
                name: "catJAM".into(),
                animated: true,
            },
            CustomEmote {
                id: EmojiId(333),
                name: "catjam".into(),
                animated: false,
            },
        ])
    }

    #[test]
    fn standard_names_are_known_shortcodes() {
        for name in STANDARD_EMOTES {
            assert!(emojis::get_by_shortcode(name).is_some(), "{name}");
        }
    }

    #[test]
    fn prompt_names_custom_first_then_standard() {
        let names = catalog().prompt_names(5);
        assert_eq!(names, vec!["pepeLaugh", "catJAM", "catjam", "smile", "joy"]);
        assert_eq!(
            EmoteCatalog::default().prompt_names(2),
            vec!["smile", "joy"]
        );
        assert!(catalog().prompt_names(0).is_empty());
    }

    #[test]
    fn renders_custom_and_standard() {
        let c = catalog();
        assert_eq!(c.render("haha :pepeLaugh:"), "haha <:pepeLaugh:111>");
        assert_eq!(
            c.render(":catJAM: :catjam:"),
            "<a:catJAM:222> <:catjam:333>"
        );
        assert_eq!(c.render(":PEPELAUGH:"), "<:pepeLaugh:111>");
        assert_eq!(
            c.render("nice :thumbsup: :smile: :joy: :heart:"),
            "nice 👍 😄 😂 ❤️"
        );
        assert_eq!(c.render(":nope: stays"), ":nope: stays");
    }

    #[test]
    fn leaves_code_urls_and_tokens_alone() {
        let c = catalog();
        assert_eq!(c.render("`:smile:` :smile:"), "`:smile:` 😄");
        assert_eq!(
            c.render("```\n:smile:\n```\n:smile:"),
            "```\n:smile:\n```\n😄"
        );
        assert_eq!(
            c.render("see https://a.b/c:smile:e ok"),
            "see https://a.b/c:smile:e ok"
        );
        assert_eq!(
            c.render("already <:pepeLaugh:111> and <@42>"),
            "already <:pepeLaugh:111> and <@42>"
        );
        assert_eq!(c.render("at 10:30:45"), "at 10:30:45");
    }

    #[test]
    fn retries_after_an_unknown_name() {
        assert_eq!(catalog().render("foo:bar:smile:"), "foo:bar😄");
        assert_eq!(catalog().render("::smile::"), ":😄:");
    }

    #[test]
    fn unbalanced_markup_and_multibyte_text() {
        let c = catalog();
        assert_eq!(c.render("a ` b :smile:"), "a ` b 😄");
        assert_eq!(c.render("héllo :smile: 日本 < 3"), "héllo 😄 日本 < 3");
        assert_eq!(
            c.render("```never closed :smile:"),
            "```never closed :smile:"
        );
    }
}
