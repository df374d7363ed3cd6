//! The serenity side of lifting temporary bans: `BanPort` over the gateway's HTTP client
//! or a bare one.

use crate::discord::DiscordChat;
use crate::discord::commands::checks::is_not_found;
use crate::domain::{GuildId, UserId};
use crate::ports::{BanPort, ChatError, UnbanOutcome};
use async_trait::async_trait;

/// The serenity side of lifting temporary bans (see `crate::steps::ban_lifting`).
#[async_trait]
impl BanPort for DiscordChat {
    async fn unban(
        &self,
        guild: GuildId,
        user: UserId,
        reason: &str,
    ) -> Result<UnbanOutcome, ChatError> {
        let http = self.http()?;
        unban_over(&http, guild, user, reason).await
    }
}

/// Lifting over a bare HTTP client (the BanLifter in tests, or tooling without a gateway).
#[async_trait]
impl BanPort for serenity::all::Http {
    async fn unban(
        &self,
        guild: GuildId,
        user: UserId,
        reason: &str,
    ) -> Result<UnbanOutcome, ChatError> {
        unban_over(self, guild, user, reason).await
    }
}

async fn unban_over(
    http: &serenity::all::Http,
    guild: GuildId,
    user: UserId,
    reason: &str,
) -> Result<UnbanOutcome, ChatError> {
    match http
        .remove_ban(
            serenity::all::GuildId::new(guild.0),
            serenity::all::UserId::new(user.0),
            Some(reason),
        )
        .await
    {
        Ok(()) => Ok(UnbanOutcome::Lifted),
        Err(e) if is_not_found(&e) => Ok(UnbanOutcome::NotBanned),
        Err(e) => Err(crate::discord::rest_chat::classify(e)),
    }
}
