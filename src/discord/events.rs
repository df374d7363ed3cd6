//! Gateway events in, domain events out. Each handler converts serenity's types and hands
//! off to the conversation router or the store; no decisions are made here.

use super::convert::{speech, to_timestamp};
use super::rest_chat::DiscordChat;
use crate::actors::router::RouterHandle;
use crate::actors::store::StoreHandle;
use crate::domain::{BotIdentity, ChannelEvent};
use crate::domain::{ChannelId, GuildId, MessageId, UserId};
use crate::ports::store::MemberSighting;
use crate::telemetry::metrics::{self, RateLimited};
use crate::telemetry::vitals::Vitals;
use chrono::Utc;
use serenity::all::{
    Context, EventHandler, GuildMemberUpdateEvent, Member, Message, MessageUpdateEvent,
    RatelimitInfo, Ready, ShardStageUpdateEvent,
};
use std::sync::{Arc, RwLock};
use tracing::Instrument;

#[derive(Clone)]
pub struct GatewayEvents {
    pub router: RouterHandle,
    pub store: StoreHandle,
    /// Shows the stored status line again on every READY.
    pub daily: Arc<crate::steps::daily::DailyDeps>,
    pub chat: Arc<DiscordChat>,
    pub bot: Arc<RwLock<Option<BotIdentity>>>,
    /// Fires once per READY (tests and start-up wait on it).
    pub ready: tokio::sync::watch::Sender<bool>,
    /// Shards' connection state, for readiness and metrics.
    pub vitals: Arc<Vitals>,
}

impl GatewayEvents {
    fn bot(&self) -> Option<BotIdentity> {
        self.bot.read().ok().and_then(|b| b.clone())
    }
}

#[serenity::async_trait]
impl EventHandler for GatewayEvents {
    async fn ready(&self, ctx: Context, ready: Ready) {
        let identity = BotIdentity {
            id: UserId(ready.user.id.get()),
            name: ready.user.name.clone(),
        };
        tracing::info!(bot = %identity.name, id = %identity.id, guilds = ready.guilds.len(), "connected to Discord");
        if let Ok(mut slot) = self.bot.write() {
            *slot = Some(identity);
        }
        self.chat.attach_shard(ctx.shard.clone());
        let daily = self.daily.clone();
        tokio::spawn(async move { crate::steps::daily::apply_stored_status(&daily).await });
        self.vitals.shard_stage(ctx.shard_id.0, "connected");
        let _ = self.ready.send(true);
    }

    /// Dropped, resuming, reconnected: readiness follows every shard's stage.
    async fn shard_stage_update(&self, _ctx: Context, event: ShardStageUpdateEvent) {
        let stage = super::shard_watch::stage_name(event.new);
        tracing::info!(shard = event.shard_id.0, stage, "gateway stage changed");
        self.vitals.shard_stage(event.shard_id.0, stage);
    }

    /// A 429 from Discord, or serenity waiting ahead of one.
    async fn ratelimit(&self, data: RatelimitInfo) {
        tracing::debug!(path = %data.path, global = data.global, wait = ?data.timeout, "Discord rate limit");
        metrics::rate_limited(RateLimited::Discord);
    }

    async fn cache_ready(&self, ctx: Context, guilds: Vec<serenity::all::GuildId>) {
        super::backfill::backfill(&ctx, &guilds, &self.router, &self.store).await;
    }

    async fn message(&self, _ctx: Context, msg: Message) {
        // Direct messages are not part of any server's chat: nothing is logged or
        // remembered from them (a fact told in private must not surface in public).
        if msg.guild_id.is_none() {
            return;
        }
        // Join notices, pins, boosts, thread events and webhook posts are nobody's speech.
        let Some(incoming) = speech(&msg) else { return };
        metrics::message_received();
        let Some(bot) = self.bot() else { return };
        let span = tracing::info_span!(
            "message",
            guild = msg.guild_id.map(|g| g.get()),
            channel = msg.channel_id.get(),
            message = msg.id.get(),
        );
        let author = incoming.message.author_id;
        async move {
            tracing::debug!(%author, "message received");
            self.router
                .deliver(ChannelEvent::Message { bot, incoming })
                .await;
        }
        .instrument(span)
        .await;
    }

    async fn message_update(
        &self,
        _ctx: Context,
        _old: Option<Message>,
        _new: Option<Message>,
        event: MessageUpdateEvent,
    ) {
        let Some(content) = event.content else { return };
        let edited_at = event
            .edited_timestamp
            .map(to_timestamp)
            .unwrap_or_else(Utc::now);
        self.router
            .deliver(ChannelEvent::Edited {
                channel: ChannelId(event.channel_id.get()),
                id: MessageId(event.id.get()),
                content,
                edited_at,
            })
            .await;
    }

    async fn message_delete(
        &self,
        _ctx: Context,
        channel: serenity::all::ChannelId,
        deleted: serenity::all::MessageId,
        _guild: Option<serenity::all::GuildId>,
    ) {
        self.router
            .deliver(ChannelEvent::Deleted {
                channel: ChannelId(channel.get()),
                ids: vec![MessageId(deleted.get())],
            })
            .await;
    }

    /// A moderator's purge: forgotten exactly like one deletion per message.
    async fn message_delete_bulk(
        &self,
        _ctx: Context,
        channel: serenity::all::ChannelId,
        deleted: Vec<serenity::all::MessageId>,
        _guild: Option<serenity::all::GuildId>,
    ) {
        self.router
            .deliver(ChannelEvent::Deleted {
                channel: ChannelId(channel.get()),
                ids: deleted.iter().map(|id| MessageId(id.get())).collect(),
            })
            .await;
    }

    async fn guild_member_update(
        &self,
        _ctx: Context,
        _old: Option<Member>,
        _new: Option<Member>,
        event: GuildMemberUpdateEvent,
    ) {
        self.store
            .seen_member(MemberSighting {
                user: UserId(event.user.id.get()),
                username: event.user.name.clone(),
                is_bot: event.user.bot,
                guild: Some(GuildId(event.guild_id.get())),
                display_name: event
                    .nick
                    .clone()
                    .or_else(|| event.user.global_name.clone()),
                seen_at: Utc::now(),
            })
            .await;
    }
}
