//! One turn of a chat-completion request, as the prompts build it.
//!
//! The LLM adapter converts these into its client's message types; the domain and the
//! prompt builders never see async-openai.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    System,
    User,
    Assistant,
}

impl ChatRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ChatRole::System => "system",
            ChatRole::User => "user",
            ChatRole::Assistant => "assistant",
        }
    }
}

impl fmt::Display for ChatRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChatTurn {
    pub role: ChatRole,
    pub content: String,
}

impl ChatTurn {
    pub fn new(role: ChatRole, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }

    pub fn system(content: impl Into<String>) -> Self {
        Self::new(ChatRole::System, content)
    }

    pub fn user(content: impl Into<String>) -> Self {
        Self::new(ChatRole::User, content)
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(ChatRole::Assistant, content)
    }
}

/// The turns in the shape every chat template accepts: at most one system turn, first;
/// then user and assistant strictly alternating, starting with user (Gemma's, Mistral's and
/// Llama-2's templates, as vLLM and llama.cpp `--jinja` apply them, refuse anything else
/// with "Conversation roles must alternate").
///
/// Consecutive turns of one role are joined (a blank line between them). A system turn
/// after the first carries no member text (the prompts keep member text out of system
/// turns), so it joins the turn after it as plain text; it never moves member text into
/// the system turn. A leading assistant turn (the log starts with the bot's own line) gets
/// a user turn before it that says so.
pub fn alternating(turns: Vec<ChatTurn>) -> Vec<ChatTurn> {
    let mut out: Vec<ChatTurn> = Vec::with_capacity(turns.len());
    let mut iter = turns.into_iter().peekable();
    if let Some(first) = iter.next_if(|t| t.role == ChatRole::System) {
        out.push(first);
    }
    let mut carried: Option<String> = None;
    for mut turn in iter {
        if turn.content.trim().is_empty() {
            continue;
        }
        if turn.role == ChatRole::System {
            carried = Some(match carried.take() {
                Some(before) => format!(
                    "{before}

{}",
                    turn.content
                ),
                None => turn.content,
            });
            continue;
        }
        if let Some(note) = carried.take() {
            turn.content = format!(
                "{note}

{}",
                turn.content
            );
        }
        let starts_dialogue = out.last().is_none_or(|t| t.role == ChatRole::System);
        if starts_dialogue && turn.role == ChatRole::Assistant {
            out.push(ChatTurn::user(EARLIER_CHAT));
        }
        match out.last_mut() {
            Some(last) if last.role == turn.role => {
                last.content.push_str(
                    "

",
                );
                last.content.push_str(&turn.content);
            }
            _ => out.push(turn),
        }
    }
    if let Some(note) = carried {
        match out.last_mut() {
            Some(last) if last.role == ChatRole::User => {
                last.content.push_str(
                    "

",
                );
                last.content.push_str(&note);
            }
            _ => out.push(ChatTurn::user(note)),
        }
    }
    if out.last().is_none_or(|t| t.role != ChatRole::User) {
        out.push(ChatTurn::user(EARLIER_CHAT));
    }
    out
}

/// The user turn put before a conversation that starts with the bot's own words.
const EARLIER_CHAT: &str = "(earlier in the chat)";

/// Whether `turns` already have the strict shape (what a strict template checks).
pub fn is_alternating(turns: &[ChatTurn]) -> bool {
    let dialogue = match turns.first() {
        Some(t) if t.role == ChatRole::System => &turns[1..],
        _ => turns,
    };
    !dialogue.is_empty()
        && dialogue.iter().enumerate().all(|(i, t)| {
            t.role
                == if i % 2 == 0 {
                    ChatRole::User
                } else {
                    ChatRole::Assistant
                }
        })
        && dialogue.last().is_some_and(|t| t.role == ChatRole::User)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(turns: &[ChatTurn]) -> Vec<ChatRole> {
        turns.iter().map(|t| t.role).collect()
    }

    #[test]
    fn the_reply_layout_becomes_one_system_turn_then_alternation() {
        let turns = vec![
            ChatTurn::system("persona"),
            ChatTurn::user("[10:00] Bob: hi"),
            ChatTurn::assistant("hey Bob"),
            ChatTurn::user("[10:01] Bob: how are you"),
            ChatTurn::system("mood and time"),
            ChatTurn::user("<notes>…</notes>\n[10:02] Bob: @Aria?"),
        ];
        let out = alternating(turns);
        use ChatRole::*;
        assert_eq!(roles(&out), vec![System, User, Assistant, User]);
        assert!(is_alternating(&out));
        assert_eq!(out[0].content, "persona", "nothing joins the system turn");
        assert!(
            out[3]
                .content
                .starts_with("[10:01] Bob: how are you\n\nmood and time")
        );
        assert!(out[3].content.ends_with("@Aria?"));
    }

    #[test]
    fn a_log_that_starts_with_the_bot_gets_a_user_turn_first() {
        let out = alternating(vec![
            ChatTurn::system("p"),
            ChatTurn::assistant("I said this"),
            ChatTurn::assistant("and this"),
            ChatTurn::user("q"),
        ]);
        assert_eq!(
            roles(&out),
            vec![
                ChatRole::System,
                ChatRole::User,
                ChatRole::Assistant,
                ChatRole::User
            ]
        );
        assert_eq!(out[2].content, "I said this\n\nand this");
        assert!(is_alternating(&out));
    }

    #[test]
    fn it_always_ends_with_a_user_turn() {
        let out = alternating(vec![
            ChatTurn::system("p"),
            ChatTurn::user("q"),
            ChatTurn::assistant("a"),
        ]);
        assert!(is_alternating(&out));
        let only_system = alternating(vec![ChatTurn::system("p")]);
        assert!(is_alternating(&only_system));
        assert!(!is_alternating(&[
            ChatTurn::system("a"),
            ChatTurn::system("b"),
            ChatTurn::user("c")
        ]));
    }

    #[test]
    fn constructors_set_role() {
        assert_eq!(ChatTurn::system("a").role, ChatRole::System);
        assert_eq!(ChatTurn::user("b").role, ChatRole::User);
        assert_eq!(ChatTurn::assistant("c").content, "c");
    }

    #[test]
    fn role_serializes_lowercase() {
        assert_eq!(
            serde_json::to_string(&ChatRole::Assistant).ok().as_deref(),
            Some("\"assistant\"")
        );
    }
}
