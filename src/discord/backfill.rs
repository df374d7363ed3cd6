//! Closing the gateway gap after a restart.
//!
//! serenity resumes a dropped connection, but not a session across a process restart
//! (serenity issue 3093): whatever was said while the bot was down never arrives as an
//! event. Once the cache is ready, each text channel and active thread the bot has logged before is read
//! from the newest logged message on, and what was missed is logged. It is not answered:
//! a reply to a question asked an hour ago, out of the blue, would be stranger than none.

use super::convert::speech;
use crate::actors::router::RouterHandle;
use crate::actors::store::StoreHandle;
use crate::domain::ChannelEvent;
use crate::domain::ChannelId;
use serenity::all::{ChannelType, Context, GetMessages, GuildId, MessageId};

/// At most this many missed messages are fetched per channel.
const MAX_PER_CHANNEL: usize = 1000;

pub async fn backfill(
    ctx: &Context,
    guilds: &[GuildId],
    router: &RouterHandle,
    store: &StoreHandle,
) {
    let channels: Vec<serenity::all::ChannelId> = guilds
        .iter()
        .filter_map(|g| ctx.cache.guild(*g))
        .flat_map(|g| {
            // Text channels, and the threads that were active when the server came back
            // (a conversation in a thread is as easy to miss as one in its channel).
            let channels = g
                .channels
                .values()
                .filter(|c| matches!(c.kind, ChannelType::Text | ChannelType::News));
            channels
                .chain(g.threads.iter())
                .map(|c| c.id)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut total = 0;
    for channel in channels {
        let id = ChannelId(channel.get());
        let last = match store.last_message(id).await {
            Ok(Some(last)) => last,
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(%error, channel = %id, "backfill skipped a channel");
                continue;
            }
        };
        let mut after = MessageId::new(last.id.0);
        let mut fetched = 0;
        while fetched < MAX_PER_CHANNEL {
            let page = match channel
                .messages(&ctx.http, GetMessages::new().after(after).limit(100))
                .await
            {
                Ok(page) => page,
                Err(error) => {
                    tracing::warn!(%error, channel = %id, "could not read missed messages");
                    break;
                }
            };
            let mut page = page;
            page.sort_by_key(|m| m.id);
            let Some(newest) = page.last().map(|m| m.id) else {
                break;
            };
            let full_page = page.len() >= 100;
            fetched += page.len();
            for incoming in page.iter().filter_map(speech) {
                router.deliver(ChannelEvent::Backfilled { incoming }).await;
            }
            after = newest;
            if !full_page {
                break;
            }
        }
        total += fetched;
    }
    if total > 0 {
        tracing::info!(
            messages = total,
            "logged messages sent while the bot was offline"
        );
    }
}
