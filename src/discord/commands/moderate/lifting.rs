//! The serenity side of lifting temporary bans: `BanPort` over the gateway's HTTP client
//! or a bare one, with Discord's answers sorted for the lifter's retry rules.

use crate::discord::DiscordChat;
use crate::domain::lifting::UnbanFailure;
use crate::domain::{ChannelId, GuildId, UserId};
use crate::ports::{BanPort, ChatError, UnbanError, UnbanOutcome};
use async_trait::async_trait;
use serenity::all::{CreateAllowedMentions, CreateMessage, HttpError};
use std::time::Duration;

/// An unban that has not answered by then is a transient failure (serenity's client has
/// no request timeout of its own).
const UNBAN_TIMEOUT: Duration = Duration::from_secs(15);

#[async_trait]
impl BanPort for DiscordChat {
    async fn unban(
        &self,
        guild: GuildId,
        user: UserId,
        reason: &str,
    ) -> Result<UnbanOutcome, UnbanError> {
        let http = self.http().map_err(|e| UnbanError {
            kind: UnbanFailure::Transient,
            detail: e.to_string(),
        })?;
        unban_over(&http, guild, user, reason).await
    }

    async fn notify(&self, channel: ChannelId, text: &str) -> Result<(), ChatError> {
        let http = self.http()?;
        notify_over(&http, channel, text).await
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
    ) -> Result<UnbanOutcome, UnbanError> {
        unban_over(self, guild, user, reason).await
    }

    async fn notify(&self, channel: ChannelId, text: &str) -> Result<(), ChatError> {
        notify_over(self, channel, text).await
    }
}

async fn unban_over(
    http: &serenity::all::Http,
    guild: GuildId,
    user: UserId,
    reason: &str,
) -> Result<UnbanOutcome, UnbanError> {
    let call = http.remove_ban(
        serenity::all::GuildId::new(guild.0),
        serenity::all::UserId::new(user.0),
        Some(reason),
    );
    match tokio::time::timeout(UNBAN_TIMEOUT, call).await {
        Err(_) => Err(UnbanError {
            kind: UnbanFailure::Transient,
            detail: format!("no answer within {} s", UNBAN_TIMEOUT.as_secs()),
        }),
        Ok(Ok(())) => Ok(UnbanOutcome::Lifted),
        Ok(Err(e)) => match counted(status_of(&e), &e) {
            Some(404) => Ok(UnbanOutcome::NotBanned),
            status => Err(UnbanError {
                kind: failure_of(status),
                detail: e.to_string(),
            }),
        },
    }
}

/// `status`, after counting the failed call in the metrics.
fn counted(status: Option<u16>, error: &serenity::Error) -> Option<u16> {
    crate::discord::rest_chat::count_rest_error(error);
    status
}

fn status_of(error: &serenity::Error) -> Option<u16> {
    match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => Some(r.status_code.as_u16()),
        _ => None,
    }
}

/// 403 is the bot's permission in the server; 429 and 5xx may pass; other 4xx are this
/// ban's own refusal; no answer at all (connection, timeout) is transient.
fn failure_of(status: Option<u16>) -> UnbanFailure {
    match status {
        Some(403) => UnbanFailure::MissingPermission,
        Some(429) | Some(500..) | None => UnbanFailure::Transient,
        Some(_) => UnbanFailure::Refused,
    }
}

async fn notify_over(
    http: &serenity::all::Http,
    channel: ChannelId,
    text: &str,
) -> Result<(), ChatError> {
    serenity::all::ChannelId::new(channel.0)
        .send_message(
            http,
            CreateMessage::new()
                .content(text)
                .allowed_mentions(CreateAllowedMentions::new()),
        )
        .await
        .map_err(crate::discord::rest_chat::classify)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discord_answers_sort_into_failures() {
        assert_eq!(failure_of(Some(403)), UnbanFailure::MissingPermission);
        assert_eq!(failure_of(Some(400)), UnbanFailure::Refused);
        assert_eq!(failure_of(Some(429)), UnbanFailure::Transient);
        assert_eq!(failure_of(Some(503)), UnbanFailure::Transient);
        assert_eq!(failure_of(None), UnbanFailure::Transient);
    }
}
