//! The state of one fake Discord world: its servers (guilds) with their channels, roles,
//! members, emojis, bans and timeouts, plus DM channels and the message history.
//!
//! Every world has at least two servers, a member in both and an admin of each (the
//! project's rule: per-server bugs only show up with two). The *first* server keeps the
//! flat single-guild fields (`guild_id`, `members`, `roles`, ...) and every method without
//! a guild argument (`member`, `permissions_of`, `is_banned`, ...) means it, so tests written
//! for one server work unchanged. The others are [`Guild`]s in `other_guilds`; the `*_in`
//! methods (`member_in`, `permissions_in`, ...) address any server by id, and
//! [`World::guild_of`] maps a channel to its server.
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
    /// The first server, "Test Guild": what every single-guild helper means.
    pub const GUILD: u64 = 2000;
    /// The second server, "Other Guild".
    pub const OTHER_GUILD: u64 = 2001;
    /// `@everyone` has the guild's id, as on Discord.
    pub const EVERYONE_ROLE: u64 = GUILD;
    pub const MODERATOR_ROLE: u64 = 2100;
    pub const MEMBER_ROLE: u64 = 2101;
    pub const BOT_ROLE: u64 = 2102;
    /// `@everyone` of [`OTHER_GUILD`].
    pub const OTHER_EVERYONE_ROLE: u64 = OTHER_GUILD;
    /// In [`OTHER_GUILD`]: Manage Server plus kick, ban and timeout (Dave holds it).
    pub const OTHER_ADMIN_ROLE: u64 = 2200;
    pub const OTHER_MEMBER_ROLE: u64 = 2201;
    pub const OTHER_BOT_ROLE: u64 = 2202;
    /// A member of both servers ([`GUILD`] with the Member role, [`OTHER_GUILD`] with the
    /// Other Member role and the nick "ally").
    pub const ALICE: u64 = 3000;
    pub const BOB: u64 = 3001;
    pub const OTHERBOT: u64 = 3002;
    /// Carol holds the Moderator role of [`GUILD`] (kick, ban, timeout, Manage Server); she
    /// is not in [`OTHER_GUILD`].
    pub const CAROL: u64 = 3003;
    /// The admin of [`OTHER_GUILD`] (Other Admin role); not a member of [`GUILD`].
    pub const DAVE: u64 = 3004;
    /// Owns [`OTHER_GUILD`] (and is only a member there).
    pub const OTHER_OWNER: u64 = 3998;
    /// Owns [`GUILD`]; also the application owner.
    pub const OWNER: u64 = 3999;
    pub const GENERAL: u64 = 4000;
    pub const RANDOM: u64 = 4001;
    /// The text channel of [`OTHER_GUILD`].
    pub const OTHER_GENERAL: u64 = 4100;
    pub const PARTYBLOB: u64 = 7000;
    pub const DANCECAT: u64 = 7001;
    /// The custom emoji of [`OTHER_GUILD`].
    pub const OTHERBLOB: u64 = 7100;
    /// The third server of [`crate::World::sharded`], "Far Guild": `(id >> 22) % 2 == 1`, so
    /// with two shards it is on shard 1 while [`GUILD`] and [`OTHER_GUILD`] are on shard 0.
    pub const FAR_GUILD: u64 = (1 << 22) | 2002;
    /// The text channel of [`FAR_GUILD`].
    pub const FAR_GENERAL: u64 = 4200;
    /// Owns [`FAR_GUILD`] (and is only a member there).
    pub const FAR_OWNER: u64 = 3997;
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
    /// The server of a guild channel or thread. `None` on a non-DM channel means the world's
    /// first server, so `Channel::text` keeps meaning "a channel of the test guild"; use
    /// [`Channel::in_guild`] (or [`World::with_channel_in`]) for another server.
    pub guild_id: Option<u64>,
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
            guild_id: None,
        }
    }

    /// Puts the channel in server `guild_id`.
    pub fn in_guild(mut self, guild_id: u64) -> Self {
        self.guild_id = Some(guild_id);
        self
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

/// A server other than the world's first one (which lives in the flat fields of
/// [`World`]). Its channels live in `World::channels` with `guild_id` set to its id.
#[derive(Clone, Debug, PartialEq)]
pub struct Guild {
    pub id: u64,
    pub name: String,
    pub owner_id: u64,
    /// Includes `@everyone`, whose id is the guild's id.
    pub roles: Vec<Role>,
    pub members: Vec<Member>,
    /// Users who left, were kicked or banned, so their user objects can still be served.
    pub departed: Vec<User>,
    pub emojis: Vec<Emoji>,
    pub bans: BTreeMap<u64, Ban>,
}

impl Guild {
    /// An empty server with only `@everyone` (broad, non-management permissions).
    pub fn new(id: u64, name: impl Into<String>, owner_id: u64) -> Self {
        Self {
            id,
            name: name.into(),
            owner_id,
            roles: vec![Role::new(id, "@everyone", perms::EVERYONE_DEFAULT, 0)],
            members: Vec::new(),
            departed: Vec::new(),
            emojis: Vec::new(),
            bans: BTreeMap::new(),
        }
    }
}

/// One server's data, borrowed from a [`World`] whichever server it is
/// ([`World::guild`], [`World::guilds`]).
#[derive(Clone, Copy, Debug)]
pub struct GuildRef<'a> {
    pub id: u64,
    pub name: &'a str,
    pub owner_id: u64,
    pub roles: &'a [Role],
    pub members: &'a [Member],
    pub departed: &'a [User],
    pub emojis: &'a [Emoji],
    pub bans: &'a BTreeMap<u64, Ban>,
}

impl<'a> GuildRef<'a> {
    pub fn member(&self, user_id: u64) -> Option<&'a Member> {
        self.members.iter().find(|m| m.user.id == user_id)
    }

    pub fn role(&self, role_id: u64) -> Option<&'a Role> {
        self.roles.iter().find(|r| r.id == role_id)
    }

    /// The member's effective permissions in this server: the owner gets everything,
    /// everyone else `@everyone` plus their roles (ADMINISTRATOR implies everything).
    /// A non-member gets `@everyone` only. Channels have no overwrites in the fake, so
    /// this is also the per-channel permission.
    pub fn permissions_of(&self, user_id: u64) -> u64 {
        const ALL: u64 = (1 << 51) - 1;
        if user_id == self.owner_id {
            return ALL;
        }
        let mut bits = self.role(self.id).map_or(0, |r| r.permissions);
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
}

/// One server's mutable parts, borrowed from a [`World`] (REST handlers use it).
#[derive(Debug)]
pub struct GuildMut<'a> {
    pub id: u64,
    pub roles: &'a mut Vec<Role>,
    pub members: &'a mut Vec<Member>,
    pub departed: &'a mut Vec<User>,
    pub emojis: &'a mut Vec<Emoji>,
    pub bans: &'a mut BTreeMap<u64, Ban>,
}

impl GuildMut<'_> {
    pub fn member_mut(&mut self, user_id: u64) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.user.id == user_id)
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

/// One Discord world. `World::default()` is the standard pair of test servers: [`ids::GUILD`]
/// (the flat fields) and [`ids::OTHER_GUILD`] (in `other_guilds`); the `with_*` methods
/// customise it before [`crate::FakeDiscord::start`], and [`crate::FakeDiscord::with_world`]
/// changes it while running.
#[derive(Clone, Debug)]
pub struct World {
    pub bot: User,
    pub application_id: u64,
    // ---- the first server ([`ids::GUILD`] by default) ----
    pub guild_id: u64,
    pub guild_name: String,
    pub owner_id: u64,
    /// Every server's channels and threads, and the DM channels (see [`Channel::guild_id`]).
    pub channels: Vec<Channel>,
    pub roles: Vec<Role>,
    pub members: Vec<Member>,
    /// Users who are not (or no longer) members, e.g. kicked or banned ones, so their
    /// user objects can still be served.
    pub departed: Vec<User>,
    pub emojis: Vec<Emoji>,
    /// Per channel, oldest first: the exact message JSON that was served or dispatched.
    /// Kept sorted by id (see [`World::store_message`]).
    pub messages: BTreeMap<u64, Vec<Value>>,
    /// Which channel each stored message went to, so a reply's reference is found without
    /// scanning every history (a bench stores hundreds of thousands). May name a message
    /// deleted since: the lookup in its channel then finds nothing.
    pub message_channels: std::collections::HashMap<u64, u64>,
    pub bans: BTreeMap<u64, Ban>,
    // ---- the other servers ----
    /// Servers besides the first; [`ids::OTHER_GUILD`] by default.
    pub other_guilds: Vec<Guild>,
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
        let alice = User::new(ALICE, "alice");
        let mut other = Guild::new(OTHER_GUILD, "Other Guild", OTHER_OWNER);
        other.roles.extend([
            Role::new(OTHER_ADMIN_ROLE, "Other Admin", moderation, 5),
            Role::new(OTHER_MEMBER_ROLE, "Other Member", 0, 1),
            Role::new(OTHER_BOT_ROLE, "Other Bot", bot_role, 10),
        ]);
        other.members = vec![
            Member::new(bot.clone()).with_roles(&[OTHER_BOT_ROLE]),
            Member::new(alice.clone())
                .with_roles(&[OTHER_MEMBER_ROLE])
                .with_nick("ally"),
            Member::new(User::new(DAVE, "dave")).with_roles(&[OTHER_ADMIN_ROLE, OTHER_MEMBER_ROLE]),
            Member::new(User::new(OTHER_OWNER, "otherowner")),
        ];
        other.emojis = vec![Emoji::new(OTHERBLOB, "otherblob", false)];
        Self {
            application_id: APPLICATION,
            guild_id: GUILD,
            guild_name: "Test Guild".into(),
            owner_id: OWNER,
            channels: vec![
                Channel::text(GENERAL, "general"),
                random,
                Channel::text(OTHER_GENERAL, "other-general").in_guild(OTHER_GUILD),
            ],
            roles: vec![
                Role::new(EVERYONE_ROLE, "@everyone", perms::EVERYONE_DEFAULT, 0),
                Role::new(MODERATOR_ROLE, "Moderator", moderation, 5),
                Role::new(MEMBER_ROLE, "Member", 0, 1),
                Role::new(BOT_ROLE, "Bot", bot_role, 10),
            ],
            members: vec![
                Member::new(bot.clone()).with_roles(&[BOT_ROLE]),
                Member::new(alice).with_roles(&[MEMBER_ROLE]),
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
            message_channels: Default::default(),
            bans: BTreeMap::new(),
            other_guilds: vec![other],
            snowflakes: Snowflakes::default(),
        }
    }
}

impl World {
    /// The default world plus a third server, [`ids::FAR_GUILD`] (channel
    /// [`ids::FAR_GENERAL`]; the bot, `ALICE` and `FAR_OWNER` are members), which lands on
    /// shard 1 of 2 while the other two land on shard 0: the world of sharding tests.
    pub fn sharded() -> Self {
        use ids::*;
        let mut far = Guild::new(FAR_GUILD, "Far Guild", FAR_OWNER);
        far.members = vec![
            Member::new(User::bot(BOT, "testbot")),
            Member::new(User::new(ALICE, "alice")),
            Member::new(User::new(FAR_OWNER, "farowner")),
        ];
        Self::default()
            .with_guild(far)
            .with_channel_in(FAR_GUILD, Channel::text(FAR_GENERAL, "far-general"))
    }

    // ---- builder-style customisation -------------------------------------------------

    /// Adds (or replaces, by user id) a member of the first server.
    pub fn with_member(mut self, member: Member) -> Self {
        self.members.retain(|m| m.user.id != member.user.id);
        self.members.push(member);
        self
    }

    /// Adds (or replaces, by user id) a member of server `guild_id`.
    ///
    /// # Panics
    /// If the world has no such server.
    pub fn with_member_in(mut self, guild_id: u64, member: Member) -> Self {
        let guild = self
            .guild_mut(guild_id)
            .expect("no such guild in the world");
        guild.members.retain(|m| m.user.id != member.user.id);
        guild.members.push(member);
        self
    }

    /// Adds (or replaces, by id) a channel; without `guild_id` it is in the first server.
    pub fn with_channel(mut self, channel: Channel) -> Self {
        self.channels.retain(|c| c.id != channel.id);
        self.channels.push(channel);
        self
    }

    /// Adds (or replaces, by id) a channel of server `guild_id`.
    pub fn with_channel_in(self, guild_id: u64, channel: Channel) -> Self {
        self.with_channel(channel.in_guild(guild_id))
    }

    /// Adds (or replaces, by id) a role of the first server.
    pub fn with_role(mut self, role: Role) -> Self {
        self.roles.retain(|r| r.id != role.id);
        self.roles.push(role);
        self
    }

    /// Adds (or replaces, by id) an emoji of the first server.
    pub fn with_emoji(mut self, emoji: Emoji) -> Self {
        self.emojis.retain(|e| e.id != emoji.id);
        self.emojis.push(emoji);
        self
    }

    /// Adds (or replaces, by id) a server besides the first. Its channels are added with
    /// [`Self::with_channel_in`]; remember the bot must be a member to see it used.
    pub fn with_guild(mut self, guild: Guild) -> Self {
        self.other_guilds.retain(|g| g.id != guild.id);
        self.other_guilds.push(guild);
        self
    }

    /// Renames the bot (its id stays [`ids::BOT`] unless the member list is rebuilt), in
    /// every server.
    pub fn with_bot_name(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.bot.name = name.clone();
        let bot_id = self.bot.id;
        for id in self.guild_ids() {
            if let Some(m) = self.member_in_mut(id, bot_id) {
                m.user.name = name.clone();
            }
        }
        self
    }

    // ---- servers ---------------------------------------------------------------------

    /// Every server's id, the first server first.
    pub fn guild_ids(&self) -> Vec<u64> {
        std::iter::once(self.guild_id)
            .chain(self.other_guilds.iter().map(|g| g.id))
            .collect()
    }

    /// Every server, the first server first.
    pub fn guilds(&self) -> Vec<GuildRef<'_>> {
        std::iter::once(self.first_guild())
            .chain(self.other_guilds.iter().map(guild_ref))
            .collect()
    }

    /// Server `guild_id`, if the world has it.
    pub fn guild(&self, guild_id: u64) -> Option<GuildRef<'_>> {
        if guild_id == self.guild_id {
            return Some(self.first_guild());
        }
        self.other_guilds
            .iter()
            .find(|g| g.id == guild_id)
            .map(guild_ref)
    }

    /// Server `guild_id`'s mutable parts, if the world has it.
    pub fn guild_mut(&mut self, guild_id: u64) -> Option<GuildMut<'_>> {
        if guild_id == self.guild_id {
            return Some(GuildMut {
                id: self.guild_id,
                roles: &mut self.roles,
                members: &mut self.members,
                departed: &mut self.departed,
                emojis: &mut self.emojis,
                bans: &mut self.bans,
            });
        }
        self.other_guilds
            .iter_mut()
            .find(|g| g.id == guild_id)
            .map(|g| GuildMut {
                id: g.id,
                roles: &mut g.roles,
                members: &mut g.members,
                departed: &mut g.departed,
                emojis: &mut g.emojis,
                bans: &mut g.bans,
            })
    }

    fn first_guild(&self) -> GuildRef<'_> {
        GuildRef {
            id: self.guild_id,
            name: &self.guild_name,
            owner_id: self.owner_id,
            roles: &self.roles,
            members: &self.members,
            departed: &self.departed,
            emojis: &self.emojis,
            bans: &self.bans,
        }
    }

    /// The server a channel or thread belongs to; `None` for DM and unknown channels.
    pub fn guild_of(&self, channel_id: u64) -> Option<u64> {
        self.channel(channel_id)
            .and_then(|c| self.guild_of_channel(c))
    }

    /// The server of `c` (which need not be stored yet): its own `guild_id`, else its
    /// parent's, else the first server; `None` for DMs.
    pub fn guild_of_channel(&self, c: &Channel) -> Option<u64> {
        if c.is_dm() {
            return None;
        }
        let inherited = || {
            c.parent_id
                .filter(|p| *p != c.id)
                .and_then(|p| self.guild_of(p))
        };
        Some(c.guild_id.or_else(inherited).unwrap_or(self.guild_id))
    }

    /// Channels and threads of server `guild_id`, in creation order.
    pub fn channels_of(&self, guild_id: u64) -> impl Iterator<Item = &Channel> {
        self.channels
            .iter()
            .filter(move |c| self.guild_of_channel(c) == Some(guild_id))
    }

    /// The servers `user_id` is a member of, the first server first.
    pub fn guilds_of_user(&self, user_id: u64) -> Vec<u64> {
        self.guilds()
            .into_iter()
            .filter(|g| g.member(user_id).is_some())
            .map(|g| g.id)
            .collect()
    }

    // ---- queries (without a guild argument: the first server) -------------------------

    pub fn member(&self, user_id: u64) -> Option<&Member> {
        self.members.iter().find(|m| m.user.id == user_id)
    }

    pub fn member_mut(&mut self, user_id: u64) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.user.id == user_id)
    }

    /// `user_id`'s member object in server `guild_id` (`None` if not a member there).
    pub fn member_in(&self, guild_id: u64, user_id: u64) -> Option<&Member> {
        self.guild(guild_id).and_then(|g| g.member(user_id))
    }

    pub fn member_in_mut(&mut self, guild_id: u64, user_id: u64) -> Option<&mut Member> {
        if guild_id == self.guild_id {
            return self.member_mut(user_id);
        }
        self.other_guilds
            .iter_mut()
            .find(|g| g.id == guild_id)
            .and_then(|g| g.members.iter_mut().find(|m| m.user.id == user_id))
    }

    /// Any user the world knows: members, departed and banned users of every server, the bot.
    pub fn user(&self, user_id: u64) -> Option<&User> {
        let guilds = self.guilds();
        guilds
            .iter()
            .find_map(|g| g.member(user_id).map(|m| &m.user))
            .or_else(|| {
                guilds
                    .iter()
                    .find_map(|g| g.departed.iter().find(|u| u.id == user_id))
            })
            .or_else(|| {
                guilds
                    .iter()
                    .find_map(|g| g.bans.get(&user_id).map(|b| &b.user))
            })
            .or_else(|| (self.bot.id == user_id).then_some(&self.bot))
    }

    pub fn channel(&self, channel_id: u64) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == channel_id)
    }

    pub fn channel_mut(&mut self, channel_id: u64) -> Option<&mut Channel> {
        self.channels.iter_mut().find(|c| c.id == channel_id)
    }

    /// A role of the first server.
    pub fn role(&self, role_id: u64) -> Option<&Role> {
        self.roles.iter().find(|r| r.id == role_id)
    }

    /// Guild channels and threads of every server (not DM channels), in creation order.
    pub fn guild_channels(&self) -> impl Iterator<Item = &Channel> {
        self.channels.iter().filter(|c| !c.is_dm())
    }

    /// Threads of every server.
    pub fn threads(&self) -> Vec<&Channel> {
        self.channels.iter().filter(|c| c.is_thread()).collect()
    }

    /// The DM channel with `user_id`, if the bot opened one.
    pub fn dm_channel_with(&self, user_id: u64) -> Option<&Channel> {
        self.channels
            .iter()
            .find(|c| c.is_dm() && c.recipient == Some(user_id))
    }

    /// The timeout the bot set on a member of the first server, if any (RFC 3339 as sent).
    pub fn timeout_of(&self, user_id: u64) -> Option<&str> {
        self.timeout_in(self.guild_id, user_id)
    }

    /// The timeout the bot set on a member of server `guild_id`, if any.
    pub fn timeout_in(&self, guild_id: u64, user_id: u64) -> Option<&str> {
        self.member_in(guild_id, user_id)
            .and_then(|m| m.communication_disabled_until.as_deref())
    }

    /// Whether `user_id` is banned from the first server.
    pub fn is_banned(&self, user_id: u64) -> bool {
        self.bans.contains_key(&user_id)
    }

    pub fn is_banned_in(&self, guild_id: u64, user_id: u64) -> bool {
        self.guild(guild_id)
            .is_some_and(|g| g.bans.contains_key(&user_id))
    }

    /// Whether `user_id` is a member of the first server.
    pub fn is_member(&self, user_id: u64) -> bool {
        self.member(user_id).is_some()
    }

    pub fn is_member_in(&self, guild_id: u64, user_id: u64) -> bool {
        self.member_in(guild_id, user_id).is_some()
    }

    /// Messages in a channel, oldest first.
    pub fn messages_in(&self, channel_id: u64) -> &[Value] {
        self.messages
            .get(&channel_id)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    pub fn message(&self, channel_id: u64, message_id: u64) -> Option<&Value> {
        let history = self.messages_in(channel_id);
        position_of(history, message_id).map(|i| &history[i])
    }

    /// A message in any channel's history.
    pub fn find_message(&self, message_id: u64) -> Option<&Value> {
        let channel = *self.message_channels.get(&message_id)?;
        self.message(channel, message_id)
    }

    /// The member's effective permissions in the first server (see
    /// [`GuildRef::permissions_of`]).
    pub fn permissions_of(&self, user_id: u64) -> u64 {
        self.first_guild().permissions_of(user_id)
    }

    /// The member's effective permissions in server `guild_id` (0 for an unknown server).
    pub fn permissions_in(&self, guild_id: u64, user_id: u64) -> u64 {
        self.guild(guild_id)
            .map_or(0, |g| g.permissions_of(user_id))
    }

    // ---- mutations used by the servers -----------------------------------------------

    pub fn next_id(&mut self) -> u64 {
        self.snowflakes.next_id()
    }

    /// Appends a message to its channel's history (keeps the history sorted by id).
    pub fn store_message(&mut self, channel_id: u64, message: Value) {
        let id = id_of(&message).unwrap_or(0);
        let history = self.messages.entry(channel_id).or_default();
        // New messages almost always come last; an older id is inserted in its place.
        let at = match history.last() {
            Some(last) if id_of(last).unwrap_or(0) > id => {
                history.partition_point(|m| id_of(m).unwrap_or(0) <= id)
            }
            _ => history.len(),
        };
        history.insert(at, message);
        self.message_channels.insert(id, channel_id);
    }

    /// Removes a member of the first server, remembering the user so it can still be
    /// looked up.
    pub fn remove_member(&mut self, user_id: u64) -> Option<Member> {
        self.remove_member_in(self.guild_id, user_id)
    }

    /// Removes a member of server `guild_id`, remembering the user.
    pub fn remove_member_in(&mut self, guild_id: u64, user_id: u64) -> Option<Member> {
        self.guild_mut(guild_id)?.remove_member(user_id)
    }
}

fn guild_ref(g: &Guild) -> GuildRef<'_> {
    GuildRef {
        id: g.id,
        name: &g.name,
        owner_id: g.owner_id,
        roles: &g.roles,
        members: &g.members,
        departed: &g.departed,
        emojis: &g.emojis,
        bans: &g.bans,
    }
}

/// Where the message `id` is in a history sorted by id.
pub fn position_of(history: &[Value], id: u64) -> Option<usize> {
    history
        .binary_search_by_key(&id, |m| id_of(m).unwrap_or(0))
        .ok()
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

    /// The project's rule: two servers, a member in both, an admin of each.
    #[test]
    fn default_world_has_two_servers() {
        let w = World::default();
        assert_eq!(w.guild_ids(), vec![ids::GUILD, ids::OTHER_GUILD]);
        assert_eq!(
            w.guilds_of_user(ids::ALICE),
            vec![ids::GUILD, ids::OTHER_GUILD]
        );
        assert_eq!(
            w.guilds_of_user(ids::BOT),
            vec![ids::GUILD, ids::OTHER_GUILD]
        );
        assert_eq!(w.guilds_of_user(ids::DAVE), vec![ids::OTHER_GUILD]);
        assert_eq!(w.guilds_of_user(ids::CAROL), vec![ids::GUILD]);
        // An admin of each, and only there.
        assert_ne!(
            w.permissions_in(ids::GUILD, ids::CAROL) & perms::MANAGE_GUILD,
            0
        );
        assert_eq!(
            w.permissions_in(ids::OTHER_GUILD, ids::CAROL) & perms::MANAGE_GUILD,
            0
        );
        assert_ne!(
            w.permissions_in(ids::OTHER_GUILD, ids::DAVE) & perms::MANAGE_GUILD,
            0
        );
        assert_eq!(
            w.permissions_in(ids::GUILD, ids::DAVE) & perms::MANAGE_GUILD,
            0
        );
        assert_eq!(
            w.permissions_in(ids::OTHER_GUILD, ids::OTHER_OWNER),
            (1 << 51) - 1
        );
        assert_eq!(
            w.permissions_in(ids::OTHER_GUILD, ids::ALICE) & perms::MANAGE_GUILD,
            0
        );
        // Channels map to their server; DMs to none.
        assert_eq!(w.guild_of(ids::GENERAL), Some(ids::GUILD));
        assert_eq!(w.guild_of(ids::OTHER_GENERAL), Some(ids::OTHER_GUILD));
        assert_eq!(w.guild_of(1), None);
        let other: Vec<u64> = w.channels_of(ids::OTHER_GUILD).map(|c| c.id).collect();
        assert_eq!(other, vec![ids::OTHER_GENERAL]);
        assert_eq!(w.channels_of(ids::GUILD).count(), 2);
        // Per-server member objects.
        let nick = |g| w.member_in(g, ids::ALICE).and_then(|m| m.nick.clone());
        assert_eq!(nick(ids::GUILD), None);
        assert_eq!(nick(ids::OTHER_GUILD).as_deref(), Some("ally"));
        assert!(w.user(ids::DAVE).is_some());
        assert!(!w.is_member(ids::DAVE));
    }

    #[test]
    fn threads_inherit_their_parents_server() {
        let mut thread = Channel::text(9, "t");
        thread.kind = channel_kind::PUBLIC_THREAD;
        thread.parent_id = Some(ids::OTHER_GENERAL);
        let w = World::default().with_channel(thread);
        assert_eq!(w.guild_of(9), Some(ids::OTHER_GUILD));
        let mut w = w;
        assert!(w.remove_member_in(ids::OTHER_GUILD, ids::ALICE).is_some());
        assert!(w.is_member(ids::ALICE));
        assert!(!w.is_member_in(ids::OTHER_GUILD, ids::ALICE));
    }
}
