//! Where channel events go: the proactive step hands its decisions to the channel's
//! conversation (implemented by the router's handle), so they queue behind its replies.

use crate::domain::ChannelEvent;
use async_trait::async_trait;

#[async_trait]
pub trait ChannelSink: Send + Sync {
    async fn deliver(&self, event: ChannelEvent);
}
