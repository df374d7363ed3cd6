//! The state of one fake Discord world: one guild, its channels, roles, members, emojis,
//! message history, bans and timeouts.
//!
//! REST handlers mutate it (a ban removes the member, a `POST .../messages` appends to the
//! history) and the gateway reads it (GUILD_CREATE is built from it), so both sides always
//! agree. It is plain data with no I/O; the servers share it behind a `std::sync::Mutex`
//! because no lock is ever held across an `.await`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

/// Well-known ids of the default world, so tests read `ids::ALICE` instead of `3000`.
pub mod ids {
    /// The bot's user id, also its application id.
    pub const BOT: u64 = 1000;
    /// The application id READY announces; serenity uses it for commands and followups.
    pub const APPLICATION: u64 = 1000;
    pub const GUILD: u64 = 2000;
    /// `@everyone` has the guild's id, as on Discord.
    pub const EVERYONE_ROLE: u64 = GUILD;
    pub const MODERATOR_ROLE: u64 = 2100;
    pub const MEMBER_ROLE: u64 = 2101;
    pub const BOT_ROLE: u64 = 2102;
    pub const ALICE: u64 = 3000;
    pub const BOB: u64 = 3001;
    pub const OTHERBOT: u64 = 3002;
    /// Carol holds the Moderator role.
    pub const CAROL: u64 = 3003;
    pub const OWNER: u64 = 3999;
    pub const GENERAL: u64 = 4000;
    pub const RANDOM: u64 = 4001;
    pub const PARTYBLOB: u64 = 7000;
    pub const DANCECAT: u64 = 7001;
}

/// Discord permission bits used by the default roles.
pub mod perms {
    pub const KICK_MEMBERS: u64 = 1 << 1;
    pub const BAN_MEMBERS: u64 = 1 << 2;
    pub const ADMINISTRATOR: u64 = 1 << 3;
    pub const MANAGE_CHANNELS: u64 = 1 << 4;
    pub const MANAGE_GUILD: u64 = 1 << 5;
    pub const MANAGE_MESSAGES: u64 = 1 << 13;
    pub const MANAGE_ROLES: u64 = 1 << 28;
    pub const MANAGE_WEBHOOKS: u64 = 1 << 29;
    pub const MANAGE_GUILD_EXPRESSIONS: u64 = 1 << 30;
    pub const MANAGE_THREADS: u64 = 1 << 34;
    pub const MODERATE_MEMBERS: u64 = 1 << 40;
    /// Every bit below 1 << 40 (`1099511627775`, what the spike used).
    pub const ALL_BELOW_40: u64 = 1_099_511_627_775;
    /// The management bits taken out of `@everyone` so the Moderator role means something.
    pub const MANAGEMENT: u64 = ADMINISTRATOR
        | KICK_MEMBERS
        | BAN_MEMBERS
        | MANAGE_CHANNELS
        | MANAGE_GUILD
        | MANAGE_MESSAGES
        | MANAGE_ROLES
        | MANAGE_WEBHOOKS
        | MANAGE_GUILD_EXPRESSIONS
        | MANAGE_THREADS;
    /// `@everyone`: broad (send, react, threads, embeds, attachments, ...) so serenity's
    /// client-side permission checks pass against a populated cache, but without ADMINISTRATOR
    /// and the management bits: with them every member would be an admin and permission
    /// checks in slash commands could never deny anyone.
    pub const EVERYONE_DEFAULT: u64 = ALL_BELOW_40 & !MANAGEMENT;
}

/// Channel type numbers from the Discord API.
pub mod channel_kind {
    pub const GUILD_TEXT: u8 = 0;
    pub const DM: u8 = 1;
    pub const PUBLIC_THREAD: u8 = 11;
    pub const PRIVATE_THREAD: u8 = 12;
}

/// Milliseconds from the Unix epoch to the Discord epoch (2015-01-01).
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: u64,
    pub name: String,
    pub global_name: Option<String>,
    pub bot: bool,
}

impl User {
    pub fn new(id: u64, name: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            global_name: None,
            bot: false,
        }
    }

    pub fn bot(id: u64, name: impl Into<String>) -> Self {
        Self {
            bot: true,
            ..Self::new(id, name)
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub user: User,
    pub nick: Option<String>,
    /// Role ids besides `@everyone` (which every member implicitly has).
    pub roles: Vec<u64>,
    pub joined_at: DateTime<Utc>,
    /// RFC 3339, exactly as the bot sent it in `PATCH /guilds/{g}/members/{u}`.
    pub communication_disabled_until: Option<String>,
}

impl Member {
    pub fn new(user: User) -> Self {
        Self {
            user,
            nick: None,
            roles: Vec::new(),
            joined_at: fixed_time(),
            communication_disabled_until: None,
        }
    }

    pub fn with_roles(mut self, roles: &[u64]) -> Self {
        self.roles = roles.to_vec();
        self
    }

    pub fn with_nick(mut self, nick: impl Into<String>) -> Self {
        self.nick = Some(nick.into());
        self
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Role {
    pub id: u64,
    pub name: String,
    pub permissions: u64,
    pub position: u16,
    pub color: u32,
    pub hoist: bool,
    pub managed: bool,
    pub mentionable: bool,
}

impl Role {
    pub fn new(id: u64, name: impl Into<String>, permissions: u64, position: u16) -> Self {
        Self {
            id,
            name: name.into(),
            permissions,
            position,
            color: 0,
            hoist: false,
            managed: false,
            mentionable: false,
        }
    }
}

/// Thread-only state of a channel (`thread_metadata` on the wire).
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadState {
    pub owner_id: u64,
    pub archived: bool,
    pub locked: bool,
    pub invitable: bool,
    pub auto_archive_duration: u32,
    pub created_at: DateTime<Utc>,
    /// Users added through `PUT /channels/{c}/thread-members/{u}` (and the creator).
    pub members: BTreeSet<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Channel {
    pub id: u64,
    pub name: String,
    /// See [`channel_kind`].
    pub kind: u8,
    pub position: u16,
    pub topic: Option<String>,
    pub parent_id: Option<u64>,
    /// `Some` for threads.
    pub thread: Option<ThreadState>,
    /// `Some` for DM channels: the other user.
    pub recipient: Option<u64>,
}

impl Channel {
    pub fn text(id: u64, name: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            kind: channel_kind::GUILD_TEXT,
            position: 0,
            topic: None,
            parent_id: None,
            thread: None,
            recipient: None,
        }
    }

    pub fn is_thread(&self) -> bool {
        self.thread.is_some()
    }

    pub fn is_dm(&self) -> bool {
        self.kind == channel_kind::DM
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Emoji {
    pub id: u64,
    pub name: String,
    pub animated: bool,
}

impl Emoji {
    pub fn new(id: u64, name: impl Into<String>, animated: bool) -> Self {
        Self {
            id,
            name: name.into(),
            animated,
        }
    }

    /// How the emoji is written in message content: `<:name:id>` or `<a:name:id>`.
    pub fn markup(&self) -> String {
        let prefix = if self.animated { "a" } else { "" };
        format!("<{prefix}:{}:{}>", self.name, self.id)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ban {
    pub user: User,
    pub reason: Option<String>,
}

/// Generates fresh ids that look like real snowflakes: the current time since the Discord
/// epoch in the top bits, so they decode to "now" and sort by creation time. Strictly
/// increasing even within one millisecond.
#[derive(Clone, Debug, Default)]
pub struct Snowflakes {
    last: u64,
}

impl Snowflakes {
    pub fn next_id(&mut self) -> u64 {
        let now_ms = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(DISCORD_EPOCH_MS);
        let from_clock = now_ms.saturating_sub(DISCORD_EPOCH_MS) << 22;
        self.last = from_clock.max(self.last + 1);
        self.last
    }
}

/// When a snowflake was created, from its top bits.
pub fn snowflake_time(id: u64) -> DateTime<Utc> {
    let ms = (id >> 22) + DISCORD_EPOCH_MS;
    Utc.timestamp_millis_opt(i64::try_from(ms).unwrap_or(0))
        .single()
        .unwrap_or_else(fixed_time)
}

/// A fixed, plausible time for seed data (join dates, guild creation).
pub fn fixed_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

/// One Discord world. `World::default()` is the standard test guild; the `with_*` methods
/// customise it before [`crate::FakeDiscord::start`], and [`crate::FakeDiscord::with_world`]
/// changes it while running.
#[derive(Clone, Debug)]
pub struct World {
    pub bot: User,
    pub application_id: u64,
    pub guild_id: u64,
    pub guild_name: String,
    pub owner_id: u64,
    pub channels: Vec<Channel>,
    pub roles: Vec<Role>,
    pub members: Vec<Member>,
    /// Users who are not (or no longer) members, e.g. kicked or banned ones, so their
    /// user objects can still be served.
    pub departed: Vec<User>,
    pub emojis: Vec<Emoji>,
    /// Per channel, oldest first: the exact message JSON that was served or dispatched.
    pub messages: BTreeMap<u64, Vec<Value>>,
    pub bans: BTreeMap<u64, Ban>,
    pub snowflakes: Snowflakes,
}

impl Default for World {
    fn default() -> Self {
        use ids::*;
        let bot = User::bot(BOT, "testbot");
        let moderation = perms::KICK_MEMBERS
            | perms::BAN_MEMBERS
            | perms::MODERATE_MEMBERS
            | perms::MANAGE_GUILD;
        let bot_role = perms::MANAGEMENT & !perms::ADMINISTRATOR | perms::MODERATE_MEMBERS;
        let mut random = Channel::text(RANDOM, "random");
        random.position = 1;
        Self {
            application_id: APPLICATION,
            guild_id: GUILD,
            guild_name: "Test Guild".into(),
            owner_id: OWNER,
            channels: vec![Channel::text(GENERAL, "general"), random],
            roles: vec![
                Role::new(EVERYONE_ROLE, "@everyone", perms::EVERYONE_DEFAULT, 0),
                Role::new(MODERATOR_ROLE, "Moderator", moderation, 5),
                Role::new(MEMBER_ROLE, "Member", 0, 1),
                Role::new(BOT_ROLE, "Bot", bot_role, 10),
            ],
            members: vec![
                Member::new(bot.clone()).with_roles(&[BOT_ROLE]),
                Member::new(User::new(ALICE, "alice")).with_roles(&[MEMBER_ROLE]),
                Member::new(User::new(BOB, "bob")).with_roles(&[MEMBER_ROLE]),
                Member::new(User::bot(OTHERBOT, "otherbot")),
                Member::new(User::new(CAROL, "carol")).with_roles(&[MODERATOR_ROLE, MEMBER_ROLE]),
                Member::new(User::new(OWNER, "owner")),
            ],
            bot,
            departed: Vec::new(),
            emojis: vec![
                Emoji::new(PARTYBLOB, "partyblob", false),
                Emoji::new(DANCECAT, "dancecat", true),
            ],
            messages: BTreeMap::new(),
            bans: BTreeMap::new(),
            snowflakes: Snowflakes::default(),
        }
    }
}

impl World {
    // ---- builder-style customisation -------------------------------------------------

    /// Adds (or replaces, by user id) a member.
    pub fn with_member(mut self, member: Member) -> Self {
        self.members.retain(|m| m.user.id != member.user.id);
        self.members.push(member);
        self
    }

    /// Adds (or replaces, by id) a channel.
    pub fn with_channel(mut self, channel: Channel) -> Self {
        self.channels.retain(|c| c.id != channel.id);
        self.channels.push(channel);
        self
    }

    pub fn with_role(mut self, role: Role) -> Self {
        self.roles.retain(|r| r.id != role.id);
        self.roles.push(role);
        self
    }

    pub fn with_emoji(mut self, emoji: Emoji) -> Self {
        self.emojis.retain(|e| e.id != emoji.id);
        self.emojis.push(emoji);
        self
    }

    /// Renames the bot (its id stays [`ids::BOT`] unless the member list is rebuilt).
    pub fn with_bot_name(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.bot.name = name.clone();
        let bot_id = self.bot.id;
        if let Some(m) = self.members.iter_mut().find(|m| m.user.id == bot_id) {
            m.user.name = name;
        }
        self
    }

    // ---- queries ---------------------------------------------------------------------

    pub fn member(&self, user_id: u64) -> Option<&Member> {
        self.members.iter().find(|m| m.user.id == user_id)
    }

    pub fn member_mut(&mut self, user_id: u64) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.user.id == user_id)
    }

    /// Any user the world knows: members, departed users, the bot.
    pub fn user(&self, user_id: u64) -> Option<&User> {
        self.member(user_id)
            .map(|m| &m.user)
            .or_else(|| self.departed.iter().find(|u| u.id == user_id))
            .or_else(|| self.bans.get(&user_id).map(|b| &b.user))
            .or_else(|| (self.bot.id == user_id).then_some(&self.bot))
    }

    pub fn channel(&self, channel_id: u64) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == channel_id)
    }

    pub fn channel_mut(&mut self, channel_id: u64) -> Option<&mut Channel> {
        self.channels.iter_mut().find(|c| c.id == channel_id)
    }

    pub fn role(&self, role_id: u64) -> Option<&Role> {
        self.roles.iter().find(|r| r.id == role_id)
    }

    /// Guild channels and threads (not DM channels), in creation order.
    pub fn guild_channels(&self) -> impl Iterator<Item = &Channel> {
        self.channels.iter().filter(|c| !c.is_dm())
    }

    pub fn threads(&self) -> Vec<&Channel> {
        self.channels.iter().filter(|c| c.is_thread()).collect()
    }

    /// The DM channel with `user_id`, if the bot opened one.
    pub fn dm_channel_with(&self, user_id: u64) -> Option<&Channel> {
        self.channels
            .iter()
            .find(|c| c.is_dm() && c.recipient == Some(user_id))
    }

    /// The timeout the bot set on a member, if any (RFC 3339 as sent).
    pub fn timeout_of(&self, user_id: u64) -> Option<&str> {
        self.member(user_id)
            .and_then(|m| m.communication_disabled_until.as_deref())
    }

    pub fn is_banned(&self, user_id: u64) -> bool {
        self.bans.contains_key(&user_id)
    }

    pub fn is_member(&self, user_id: u64) -> bool {
        self.member(user_id).is_some()
    }

    /// Messages in a channel, oldest first.
    pub fn messages_in(&self, channel_id: u64) -> &[Value] {
        self.messages
            .get(&channel_id)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    pub fn message(&self, channel_id: u64, message_id: u64) -> Option<&Value> {
        self.messages_in(channel_id)
            .iter()
            .find(|m| id_of(m) == Some(message_id))
    }

    /// The member's effective guild permissions: the owner gets everything, everyone
    /// else `@everyone` plus their roles (ADMINISTRATOR implies everything).
    pub fn permissions_of(&self, user_id: u64) -> u64 {
        const ALL: u64 = (1 << 51) - 1;
        if user_id == self.owner_id {
            return ALL;
        }
        let mut bits = self.role(self.guild_id).map_or(0, |r| r.permissions);
        if let Some(member) = self.member(user_id) {
            for role in member.roles.iter().filter_map(|id| self.role(*id)) {
                bits |= role.permissions;
            }
        }
        if bits & perms::ADMINISTRATOR != 0 {
            ALL
        } else {
            bits
        }
    }

    // ---- mutations used by the servers -----------------------------------------------

    pub fn next_id(&mut self) -> u64 {
        self.snowflakes.next_id()
    }

    /// Appends a message to its channel's history (keeps the history sorted by id).
    pub fn store_message(&mut self, channel_id: u64, message: Value) {
        let history = self.messages.entry(channel_id).or_default();
        history.push(message);
        history.sort_by_key(|m| id_of(m).unwrap_or(0));
    }

    /// Removes a member, remembering the user so it can still be looked up.
    pub fn remove_member(&mut self, user_id: u64) -> Option<Member> {
        let idx = self.members.iter().position(|m| m.user.id == user_id)?;
        let member = self.members.remove(idx);
        if !self.departed.iter().any(|u| u.id == user_id) {
            self.departed.push(member.user.clone());
        }
        Some(member)
    }
}

/// The `id` of a Discord JSON object, whether sent as a string or a number.
pub fn id_of(value: &Value) -> Option<u64> {
    match value.get("id")? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// Parses a snowflake that may be a JSON string or number.
pub fn snowflake(value: &Value) -> Option<u64> {
    match value {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflakes_increase_and_decode_to_now() {
        let mut s = Snowflakes::default();
        let a = s.next_id();
        let b = s.next_id();
        assert!(b > a);
        assert!(a > 1_300_000_000_000_000_000);
        let age = Utc::now() - snowflake_time(b);
        assert!(age.num_seconds().abs() < 5);
    }

    #[test]
    fn default_world_permissions() {
        let w = World::default();
        assert_ne!(w.permissions_of(ids::CAROL) & perms::BAN_MEMBERS, 0);
        assert_ne!(w.permissions_of(ids::BOT) & perms::MODERATE_MEMBERS, 0);
        assert_eq!(w.permissions_of(ids::ALICE) & perms::MODERATE_MEMBERS, 0);
        assert!(w.member(ids::OTHERBOT).is_some_and(|m| m.user.bot));
    }
}
