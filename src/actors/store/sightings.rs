//! Which member sightings are worth a write: chat must not cost a user write per message,
//! yet a new name (or an hour gone by) is written.
//!
//! Kept by the handle, in front of the mailbox, so a repeat costs neither a message nor a
//! place in the write lane.

use crate::domain::{GuildId, UserId};
use crate::ports::store::MemberSighting;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// A sighting with the same names is written again at most this often (keeps
/// `last_seen_at` roughly current without a write per message).
const SIGHTING_REFRESH: chrono::Duration = chrono::Duration::hours(1);
/// Sightings remembered at most; the map is cleared when full.
const MAX_SIGHTINGS: usize = 100_000;

/// Username, display name and when they were last written.
type Seen = (String, Option<String>, DateTime<Utc>);

/// Recent sightings already sent to be written.
#[derive(Default)]
pub struct Sightings {
    seen: HashMap<(UserId, Option<GuildId>), Seen>,
}

impl Sightings {
    /// Whether this sighting changes anything worth a write (and remembers it if so).
    pub fn is_news(&mut self, seen: &MemberSighting) -> bool {
        let key = (seen.user, seen.guild);
        if let Some((username, display, at)) = self.seen.get(&key)
            && *username == seen.username
            && *display == seen.display_name
            && seen.seen_at - *at < SIGHTING_REFRESH
        {
            return false;
        }
        if self.seen.len() >= MAX_SIGHTINGS {
            self.seen.clear();
        }
        let value = (
            seen.username.clone(),
            seen.display_name.clone(),
            seen.seen_at,
        );
        self.seen.insert(key, value);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(name: &str, at: DateTime<Utc>) -> MemberSighting {
        MemberSighting {
            user: UserId(1),
            username: name.to_owned(),
            is_bot: false,
            guild: Some(GuildId(2)),
            display_name: None,
            seen_at: at,
        }
    }

    #[test]
    fn a_repeat_within_the_hour_is_not_news_a_new_name_or_a_later_one_is() {
        let t = DateTime::<Utc>::UNIX_EPOCH;
        let mut s = Sightings::default();
        assert!(s.is_news(&seen("a", t)));
        assert!(!s.is_news(&seen("a", t + chrono::Duration::minutes(59))));
        assert!(s.is_news(&seen("b", t + chrono::Duration::minutes(59))));
        assert!(s.is_news(&seen("b", t + chrono::Duration::minutes(120))));
    }
}
