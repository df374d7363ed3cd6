//! Slash commands through the fake Discord: INTERACTION_CREATE in, the interaction callback
//! (and every REST call the command made) out, with the database checked behind them.
//!
//! The helpers below drive one command and read its answer; one file per command area.

use crate::support::{TestBot, WAIT};
use fakes::RecordedRequest;
use serde_json::{Value, json};

mod admin;
mod erasure;
mod memory;
mod moderation;
mod rest_bounds;
mod settings;
mod tenancy;
mod utility;

const EPHEMERAL: u64 = 64;

/// What the bot answered to one slash command.
struct Answer {
    request: RecordedRequest,
    data: Value,
}

impl Answer {
    fn ephemeral(&self) -> bool {
        self.data["flags"].as_u64().unwrap_or(0) & EPHEMERAL != 0
    }

    fn content(&self) -> &str {
        self.data["content"].as_str().unwrap_or_default()
    }

    /// Content, embed titles, descriptions and fields as one text, for assertions.
    fn text(&self) -> String {
        let mut text = self.content().to_owned();
        for e in self.data["embeds"].as_array().into_iter().flatten() {
            for key in ["title", "description"] {
                if let Some(s) = e[key].as_str() {
                    text.push('\n');
                    text.push_str(s);
                }
            }
            for f in e["fields"].as_array().into_iter().flatten() {
                text.push_str(&format!(
                    "\n{}: {}",
                    f["name"].as_str().unwrap_or_default(),
                    f["value"].as_str().unwrap_or_default()
                ));
            }
            if let Some(s) = e["footer"]["text"].as_str() {
                text.push('\n');
                text.push_str(s);
            }
        }
        text
    }
}

/// Runs `/name` as `invoker` in `channel` and returns the interaction callback.
async fn run(bot: &TestBot, channel: u64, invoker: u64, name: &str, options: Value) -> Answer {
    let handle = bot
        .discord
        .slash_command(channel, invoker, name, options)
        .await;
    let path = format!("/interactions/{}/", handle.id);
    let request = bot
        .discord
        .wait_for_request(|r| r.is("POST", &path), WAIT)
        .await
        .unwrap_or_else(|e| panic!("/{name} was not answered: {e}"));
    let body = request.body.clone().unwrap_or(Value::Null);
    if body["type"] == json!(5) {
        // Deferred ("thinking…"): the answer arrives as an edit of the original response.
        // poise sends it as a follow-up (or an edit of the original response).
        let webhook = format!(
            "/webhooks/{}/{}",
            fakes::world::ids::APPLICATION,
            handle.token
        );
        let edit = bot
            .discord
            .wait_for_request(
                |r| {
                    r.is("POST", &webhook)
                        || r.is("PATCH", &format!("{webhook}/messages/@original"))
                },
                WAIT,
            )
            .await
            .unwrap_or_else(|e| panic!("/{name} deferred but never answered: {e}"));
        let mut data = edit.body.clone().unwrap_or(Value::Null);
        // The deferral carried the ephemeral flag; an edit inherits it.
        if data["flags"].is_null() {
            data["flags"] = body["data"]["flags"].clone();
        }
        return Answer {
            data,
            request: edit,
        };
    }
    assert_eq!(body["type"], json!(4), "/{name}: {body}");
    Answer {
        data: body["data"].clone(),
        request,
    }
}

/// Asserts a refusal: ephemeral, containing `needle`.
async fn refused(
    bot: &TestBot,
    channel: u64,
    invoker: u64,
    name: &str,
    options: Value,
    needle: &str,
) {
    let a = run(bot, channel, invoker, name, options).await;
    assert!(
        a.ephemeral(),
        "/{name} refusal must be ephemeral: {}",
        a.data
    );
    assert!(
        a.text().contains(needle),
        "/{name}: expected `{needle}` in {}",
        a.text()
    );
}
