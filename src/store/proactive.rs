//! Posts the bot made unprompted, counted per channel so it can hold itself to a rate.

use chrono::{DateTime, Utc};
use entity::proactive_posts;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter,
};

use super::{StoreResult, ts};
use crate::domain::{ChannelId, MessageId, ProactiveKind};

pub async fn record_proactive_post<C: ConnectionTrait>(
    db: &C,
    channel: ChannelId,
    message: Option<MessageId>,
    kind: ProactiveKind,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    proactive_posts::ActiveModel {
        channel_id: Set(channel.as_i64()),
        message_id: Set(message.map(MessageId::as_i64)),
        kind: Set(kind.as_str().to_owned()),
        posted_at: Set(ts(at)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Unprompted posts in the channel at or after `since`.
pub async fn proactive_posts_since<C: ConnectionTrait>(
    db: &C,
    channel: ChannelId,
    since: DateTime<Utc>,
) -> StoreResult<u64> {
    Ok(proactive_posts::Entity::find()
        .filter(proactive_posts::Column::ChannelId.eq(channel.as_i64()))
        .filter(proactive_posts::Column::PostedAt.gte(ts(since)))
        .count(db)
        .await?)
}
