//! Slash commands (poise). Each command checks permissions on the server side, talks to
//! the store through its handle, and answers errors ephemerally in one `on_error`.
//!
//! # Layout
//! - `checks`: server-side permission and role-hierarchy checks from the interaction.
//! - `moderate`: /kick /ban /unban /timeout /untimeout /modlog (+ the serenity side of
//!   lifting temporary bans).
//! - `utility`: /poll /userinfo /serverinfo /stats.
//! - `tickets`: /ticket open|close.
//! - `settings`: /bot enable|disable|proactive|memory|status.
//! - `admin`: /admin persona|memory|relationship|state.
//! - `memory`: /memory show|forget|forget-all|export|off|on (members' own data).
//! - `traced`: the framework wrapper that puts each command under a tracing span.
//!
//! Refusals and bad input are a [`UserError`]: shown to the invoker only, logged at debug.
//! Anything else is an internal error: logged, and the invoker sees a generic line.

pub mod admin;
pub mod checks;
pub mod memory;
pub mod moderate;
pub mod settings;
pub mod tickets;
pub mod traced;
pub mod utility;

use crate::actors::store::StoreHandle;
use crate::config::Settings;
use crate::ports::store::StoreError;
use serenity::all::{Colour, CreateEmbed};
use std::sync::Arc;

/// What every command can reach.
#[derive(Clone)]
pub struct CommandDeps {
    pub store: StoreHandle,
    /// Told when `/bot` changes where the bot speaks, so channels re-read their policy.
    pub router: crate::actors::router::RouterHandle,
    pub settings: Arc<Settings>,
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// Moderation cases done on Discord that the store could not write yet.
    pub unrecorded: crate::steps::ban_lifting::UnrecordedCases,
}

pub type Data = Arc<CommandDeps>;
pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Context<'a> = poise::Context<'a, Data, Error>;

/// A refusal or bad input, worded for the member who ran the command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

impl UserError {
    pub fn boxed(text: impl Into<String>) -> Error {
        Box::new(UserError(text.into()))
    }
}

/// Accent colour of the bot's embeds.
pub const ACCENT: Colour = Colour::from_rgb(0x8e, 0x6c, 0xef);
/// Colour of moderation embeds.
pub const WARN: Colour = Colour::from_rgb(0xe6, 0x7e, 0x22);

/// An embed in the bot's style.
pub fn embed(title: impl Into<String>) -> CreateEmbed {
    CreateEmbed::new().title(title).colour(ACCENT)
}

/// Sends an ephemeral embed.
pub async fn reply_private(ctx: Context<'_>, embed: CreateEmbed) -> Result<(), Error> {
    ctx.send(poise::CreateReply::default().ephemeral(true).embed(embed))
        .await?;
    Ok(())
}

/// Cuts text to `max` characters, marking the cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `<t:…:f>`: a timestamp every member sees in their own time zone.
pub fn discord_time(t: chrono::DateTime<chrono::Utc>, style: char) -> String {
    format!("<t:{}:{style}>", t.timestamp())
}

fn all() -> Vec<poise::Command<Data, Error>> {
    vec![
        moderate::kick(),
        moderate::ban(),
        moderate::unban(),
        moderate::timeout(),
        moderate::untimeout(),
        moderate::modlog(),
        utility::poll(),
        utility::userinfo(),
        utility::serverinfo(),
        utility::stats(),
        tickets::ticket(),
        settings::bot(),
        admin::admin(),
        memory::memory(),
    ]
}

pub fn framework(deps: CommandDeps) -> poise::Framework<Data, Error> {
    let deps = Arc::new(deps);
    let test_guilds = deps.settings.bot.test_guild_ids.clone();
    poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: all(),
            // The application's owner (or team) from Discord joins `bot.owner_ids`.
            initialize_owners: true,
            prefix_options: poise::PrefixFrameworkOptions {
                mention_as_prefix: false,
                ..Default::default()
            },
            allowed_mentions: Some(serenity::all::CreateAllowedMentions::new()),
            on_error: |error| Box::pin(on_error(error)),
            ..Default::default()
        })
        .setup(move |ctx, _ready, framework| {
            Box::pin(async move {
                let commands = &framework.options().commands;
                if test_guilds.is_empty() {
                    poise::builtins::register_globally(ctx, commands).await?;
                } else {
                    for guild in &test_guilds {
                        poise::builtins::register_in_guild(
                            ctx,
                            commands,
                            serenity::all::GuildId::new(*guild),
                        )
                        .await?;
                    }
                }
                Ok(deps)
            })
        })
        .build()
}

/// What the invoker is told about an error, and whether it is the bot's fault.
fn describe(error: &Error) -> (String, bool) {
    if let Some(e) = error.downcast_ref::<UserError>() {
        return (e.0.clone(), false);
    }
    if let Some(e) = error.downcast_ref::<StoreError>() {
        match e {
            StoreError::Invalid(text) => return (upper_first(text), false),
            StoreError::NotFound { what, id } => {
                return (
                    upper_first(&format!("there is no {what} with id {id}")),
                    false,
                );
            }
            StoreError::Relationship(e) => return (upper_first(&e.to_string()), false),
            _ => {}
        }
    }
    (
        "Something went wrong on my side; nothing was changed. The error was logged.".to_owned(),
        true,
    )
}

fn upper_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

async fn tell(ctx: Context<'_>, text: String) {
    let reply = poise::CreateReply::default()
        .content(format!("⚠️ {text}"))
        .ephemeral(true);
    if let Err(e) = ctx.send(reply).await {
        tracing::warn!(%e, "could not report a command error");
    }
}

async fn on_error(error: poise::FrameworkError<'_, Data, Error>) {
    match error {
        poise::FrameworkError::Command { error, ctx, .. } => {
            if let Some(rest) = error.downcast_ref::<serenity::Error>() {
                super::rest_chat::count_rest_error(rest);
            }
            let (text, internal) = describe(&error);
            if internal {
                tracing::warn!(command = %ctx.command().qualified_name, %error, "command failed");
            } else {
                tracing::debug!(command = %ctx.command().qualified_name, %error, "command refused");
            }
            tell(ctx, text).await;
        }
        poise::FrameworkError::ArgumentParse {
            error, input, ctx, ..
        } => {
            let text = match input {
                Some(input) => format!("I could not read `{}`: {error}", clip(&input, 100)),
                None => format!("I could not read the options: {error}"),
            };
            tell(ctx, text).await;
        }
        poise::FrameworkError::CommandStructureMismatch {
            ctx, description, ..
        } => {
            // Discord still has an older definition of the command (registration lags).
            tracing::warn!(command = %ctx.command().qualified_name, description, "command structure mismatch");
            tell(
                poise::Context::Application(ctx),
                "This command was just updated; please try again in a minute.".to_owned(),
            )
            .await;
        }
        poise::FrameworkError::GuildOnly { ctx, .. } => {
            tell(ctx, "This command only works in a server.".to_owned()).await;
        }
        poise::FrameworkError::CommandCheckFailed { error, ctx, .. } => {
            let text = error.map_or_else(
                || "You are not allowed to use this command.".to_owned(),
                |e| describe(&e).0,
            );
            tell(ctx, text).await;
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::warn!(%e, "error while handling a framework error");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_and_option_has_a_description() {
        fn walk(cmd: &poise::Command<Data, Error>, path: &str) {
            let path = format!("{path} {}", cmd.name);
            assert!(
                cmd.description.as_deref().is_some_and(|d| !d.is_empty()),
                "{path} has no description"
            );
            for p in &cmd.parameters {
                assert!(
                    p.description.as_deref().is_some_and(|d| !d.is_empty()),
                    "{path} option {} has no description",
                    p.name
                );
            }
            for sub in &cmd.subcommands {
                walk(sub, &path);
            }
        }
        for cmd in all() {
            walk(&cmd, "");
            assert!(cmd.slash_action.is_some() || !cmd.subcommands.is_empty());
        }
    }

    #[test]
    fn user_errors_are_shown_and_internal_ones_hidden() {
        let (text, internal) = describe(&UserError::boxed("no"));
        assert_eq!((text.as_str(), internal), ("no", false));
        let e: Error = Box::new(StoreError::NotFound {
            what: "fact",
            id: 9,
        });
        assert_eq!(
            describe(&e),
            ("There is no fact with id 9".to_owned(), false)
        );
        let e: Error = StoreError::Invalid("text is empty".into()).into();
        assert_eq!(describe(&e), ("Text is empty".to_owned(), false));
        let e: Error = StoreError::from(crate::domain::RelationshipError::UnknownMetric(
            "mood".into(),
        ))
        .into();
        assert!(describe(&e).0.starts_with("Unknown metric `mood`"));
        assert!(!describe(&e).1);
        let e: Error = Box::new(StoreError::Corrupt("x".into()));
        assert!(describe(&e).1);
        // The actor not answering is the bot's fault too, not the member's.
        let timeout = crate::actors::ActorError::Timeout("store".into());
        let e: Error = StoreError::NotAnswering(std::sync::Arc::new(timeout)).into();
        assert!(describe(&e).1);
    }
}
