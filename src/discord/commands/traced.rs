//! Slash commands under a tracing span. poise dispatches commands inside serenity's
//! framework hook, so the span is opened around that hook: every log line of a command
//! (store errors, Discord refusals) carries the command's name, server, channel and
//! interaction id, and one command can be followed through the logs like one message.

use super::{Data, Error};
use serenity::all::{Client, Context, FullEvent, Interaction};
use tracing::Instrument;

/// poise's framework with a span per interaction.
pub struct TracedCommands(pub poise::Framework<Data, Error>);

#[async_trait::async_trait]
impl serenity::framework::Framework for TracedCommands {
    async fn init(&mut self, client: &Client) {
        self.0.init(client).await;
    }

    async fn dispatch(&self, ctx: Context, event: FullEvent) {
        let span = match &event {
            FullEvent::InteractionCreate {
                interaction: Interaction::Command(c) | Interaction::Autocomplete(c),
            } => tracing::info_span!(
                "command",
                name = %c.data.name,
                guild = ?c.guild_id.map(|g| g.get()),
                channel = %c.channel_id,
                interaction = %c.id,
                user = %c.user.id,
            ),
            _ => tracing::Span::none(),
        };
        self.0.dispatch(ctx, event).instrument(span).await;
    }
}
