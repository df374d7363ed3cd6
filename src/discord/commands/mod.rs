//! Slash commands (poise). Each command checks permissions on the server side, talks to
//! the store through its handle, and answers errors ephemerally in one `on_error`.

use crate::actors::store::StoreHandle;
use crate::config::Settings;
use std::sync::Arc;

/// What every command can reach.
pub struct CommandDeps {
    pub store: StoreHandle,
    pub settings: Arc<Settings>,
    pub started_at: chrono::DateTime<chrono::Utc>,
}

pub type Data = Arc<CommandDeps>;
pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Context<'a> = poise::Context<'a, Data, Error>;

fn all() -> Vec<poise::Command<Data, Error>> {
    Vec::new()
}

pub fn framework(deps: CommandDeps) -> poise::Framework<Data, Error> {
    let deps = Arc::new(deps);
    let test_guilds = deps.settings.bot.test_guild_ids.clone();
    poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: all(),
            initialize_owners: false,
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

async fn on_error(error: poise::FrameworkError<'_, Data, Error>) {
    match error {
        poise::FrameworkError::Command { error, ctx, .. } => {
            tracing::warn!(command = %ctx.command().qualified_name, %error, "command failed");
            let reply = poise::CreateReply::default()
                .content(format!("⚠️ {error}"))
                .ephemeral(true);
            if let Err(e) = ctx.send(reply).await {
                tracing::warn!(%e, "could not report a command error");
            }
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::warn!(%e, "error while handling a framework error");
            }
        }
    }
}
