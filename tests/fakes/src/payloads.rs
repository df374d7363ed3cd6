//! Factories for Discord's real JSON shapes, built from the [`World`].
//!
//! serenity silently drops a dispatch whose `d` misses one required field (it becomes
//! `Event::Unknown`, logged at DEBUG only), so every factory here is covered by a unit test
//! that deserializes its output with serenity's own model types. Add a test when you add a
//! factory. Ids are always written as strings and timestamps as RFC 3339, like Discord does.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::world::{self, Ban, Channel, Emoji, GuildRef, Member, Role, User, World, channel_kind};

/// Discord's timestamp format: `2024-01-01T12:00:00.000000+00:00`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, false)
}

pub fn now() -> String {
    timestamp(Utc::now())
}

pub fn user(u: &User) -> Value {
    json!({
        "id": u.id.to_string(),
        "username": u.name,
        "global_name": u.global_name,
        "discriminator": "0",
        "avatar": null,
        "bot": u.bot,
        "public_flags": 0,
    })
}

/// A user object for an id the world does not know (so payloads stay valid).
pub fn unknown_user(id: u64) -> Value {
    user(&User::new(id, format!("user{id}")))
}

/// A full guild member (GUILD_CREATE members, `GET/PATCH /guilds/{g}/members/{u}`).
/// `permissions` is set only inside interactions, as on Discord.
pub fn member(m: &Member, permissions: Option<u64>) -> Value {
    let mut v = partial_member(m, permissions);
    v["user"] = user(&m.user);
    v
}

/// A member without `user` (`message.member`, `resolved.members`).
pub fn partial_member(m: &Member, permissions: Option<u64>) -> Value {
    let mut v = json!({
        "nick": m.nick,
        "avatar": null,
        "roles": m.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
        "joined_at": timestamp(m.joined_at),
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "communication_disabled_until": m.communication_disabled_until,
    });
    if let Some(p) = permissions {
        v["permissions"] = json!(p.to_string());
    }
    v
}

pub fn role(r: &Role) -> Value {
    json!({
        "id": r.id.to_string(),
        "name": r.name,
        "color": r.color,
        // Required by serenity 0.12.5; older fixtures without it fail to parse.
        "colors": {"primary_color": r.color, "secondary_color": null, "tertiary_color": null},
        "hoist": r.hoist,
        "icon": null,
        "unicode_emoji": null,
        "position": r.position,
        "permissions": r.permissions.to_string(),
        "managed": r.managed,
        "mentionable": r.mentionable,
        "flags": 0,
    })
}

pub fn emoji(e: &Emoji) -> Value {
    json!({
        "id": e.id.to_string(),
        "name": e.name,
        "roles": [],
        "require_colons": true,
        "managed": false,
        "animated": e.animated,
        "available": true,
    })
}

/// A guild channel or thread (`GuildChannel`), or a DM channel (`PrivateChannel`) when the
/// channel is a DM.
pub fn channel(world: &World, c: &Channel) -> Value {
    if c.is_dm() {
        let recipient = c
            .recipient
            .and_then(|id| world.user(id))
            .map_or(Value::Null, user);
        return json!({
            "id": c.id.to_string(),
            "type": channel_kind::DM,
            "last_message_id": null,
            "recipients": [recipient],
        });
    }
    let mut v = json!({
        "id": c.id.to_string(),
        "type": c.kind,
        "guild_id": world.guild_of_channel(c).unwrap_or(world.guild_id).to_string(),
        "name": c.name,
        "position": c.position,
        "permission_overwrites": [],
        "topic": c.topic,
        "nsfw": false,
        "last_message_id": world.messages_in(c.id).last().and_then(|m| m.get("id")).cloned(),
        "rate_limit_per_user": 0,
        "parent_id": c.parent_id.map(|p| p.to_string()),
        "flags": 0,
    });
    if let Some(t) = &c.thread {
        v["owner_id"] = json!(t.owner_id.to_string());
        v["member_count"] = json!(t.members.len());
        v["message_count"] = json!(world.messages_in(c.id).len());
        v["total_message_sent"] = json!(world.messages_in(c.id).len());
        v["thread_metadata"] = json!({
            "archived": t.archived,
            "auto_archive_duration": t.auto_archive_duration,
            "archive_timestamp": timestamp(t.created_at),
            "locked": t.locked,
            "invitable": t.invitable,
            "create_timestamp": timestamp(t.created_at),
        });
    }
    v
}

/// The first server as `GET /guilds/{g}` returns it (no members, channels or other
/// GUILD_CREATE-only fields).
pub fn guild(world: &World) -> Value {
    guild_in(world, world.guild_id)
}

/// Server `guild_id` as `GET /guilds/{g}` returns it.
///
/// # Panics
/// If the world has no such server.
pub fn guild_in(world: &World, guild_id: u64) -> Value {
    guild_object(&known_guild(world, guild_id))
}

fn known_guild(world: &World, guild_id: u64) -> GuildRef<'_> {
    world
        .guild(guild_id)
        .unwrap_or_else(|| panic!("the world has no guild {guild_id}"))
}

fn guild_object(g: &GuildRef<'_>) -> Value {
    json!({
        "id": g.id.to_string(),
        "name": g.name,
        "icon": null,
        "splash": null,
        "discovery_splash": null,
        "owner_id": g.owner_id.to_string(),
        "afk_channel_id": null,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": g.roles.iter().map(role).collect::<Vec<_>>(),
        "emojis": g.emojis.iter().map(emoji).collect::<Vec<_>>(),
        "features": [],
        "mfa_level": 0,
        "application_id": null,
        "system_channel_id": null,
        "system_channel_flags": 0,
        "rules_channel_id": null,
        "vanity_url_code": null,
        "description": null,
        "banner": null,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": null,
        "nsfw_level": 0,
        "stickers": [],
        "premium_progress_bar_enabled": false,
        "safety_alerts_channel_id": null,
    })
}

/// The full GUILD_CREATE dispatch data of the first server: the guild plus members,
/// channels, threads and the other fields serenity requires.
pub fn guild_create(world: &World) -> Value {
    guild_create_in(world, world.guild_id)
}

/// GUILD_CREATE `d` for server `guild_id` (the gateway sends one per server after READY).
///
/// # Panics
/// If the world has no such server.
pub fn guild_create_in(world: &World, guild_id: u64) -> Value {
    let g = known_guild(world, guild_id);
    let mut v = guild_object(&g);
    let (threads, channels): (Vec<&Channel>, Vec<&Channel>) =
        world.channels_of(guild_id).partition(|c| c.is_thread());
    let extra = json!({
        "joined_at": timestamp(world::fixed_time()),
        "large": false,
        "unavailable": false,
        "member_count": g.members.len(),
        "voice_states": [],
        "members": g.members.iter().map(|m| member(m, None)).collect::<Vec<_>>(),
        "channels": channels.into_iter().map(|c| channel(world, c)).collect::<Vec<_>>(),
        "threads": threads.into_iter().map(|c| channel(world, c)).collect::<Vec<_>>(),
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
    });
    merge(&mut v, extra);
    v
}

pub fn ready(world: &World, session_id: &str, resume_gateway_url: &str) -> Value {
    ready_on_shard(
        world,
        session_id,
        resume_gateway_url,
        [0, 1],
        &world.guild_ids(),
    )
}

/// READY of shard `[id, count]`, listing `guilds` (the shard's servers) as unavailable.
pub fn ready_on_shard(
    world: &World,
    session_id: &str,
    resume_gateway_url: &str,
    shard: [u32; 2],
    guilds: &[u64],
) -> Value {
    json!({
        "v": 10,
        "user": user(&world.bot),
        "guilds": guilds
            .iter()
            .map(|g| json!({"id": g.to_string(), "unavailable": true}))
            .collect::<Vec<_>>(),
        "session_id": session_id,
        "resume_gateway_url": resume_gateway_url,
        "shard": shard,
        // serenity takes the application id from here (commands, followups need it).
        "application": {"id": world.application_id.to_string(), "flags": 0},
    })
}

/// `GET /gateway`.
pub fn gateway(url: &str) -> Value {
    json!({ "url": url })
}

/// `GET /gateway/bot` of an unsharded bot.
pub fn bot_gateway(url: &str) -> Value {
    bot_gateway_sharded(url, 1, 1)
}

/// `GET /gateway/bot`: the shards Discord asks for and how many may IDENTIFY at once.
pub fn bot_gateway_sharded(url: &str, shards: u32, max_concurrency: u32) -> Value {
    json!({
        "url": url,
        "shards": shards,
        "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": max_concurrency},
    })
}

/// `GET /oauth2/applications/@me`. The owner is the guild owner, so poise's owner-only
/// commands work for [`crate::world::ids::OWNER`].
pub fn current_application(world: &World) -> Value {
    let owner = world
        .user(world.owner_id)
        .map_or_else(|| unknown_user(world.owner_id), user);
    json!({
        "id": world.application_id.to_string(),
        "name": world.bot.name,
        "icon": null,
        "description": "",
        "bot_public": true,
        "bot_require_code_grant": false,
        "verify_key": "0".repeat(64),
        "owner": owner,
        "team": null,
        "flags": 0,
        "bot": user(&world.bot),
    })
}

/// One entry of the `PUT /applications/{app}/commands` response: the bot's command echoed
/// with the fields Discord adds.
pub fn command(world: &World, id: u64, guild_id: Option<u64>, sent: &Value) -> Value {
    let mut v = json!({
        "type": 1,
        "description": "",
        "default_member_permissions": null,
        "dm_permission": true,
        "nsfw": false,
    });
    merge(&mut v, sent.clone());
    merge(
        &mut v,
        json!({
            "id": id.to_string(),
            "application_id": world.application_id.to_string(),
            "version": id.to_string(),
        }),
    );
    if let Some(g) = guild_id {
        v["guild_id"] = json!(g.to_string());
    }
    v
}

pub fn ban(b: &Ban) -> Value {
    json!({ "user": user(&b.user), "reason": b.reason })
}

pub fn attachment(id: u64, filename: &str, size: usize, content_type: Option<&str>) -> Value {
    let url = format!("https://cdn.discordapp.com/attachments/0/{id}/{filename}");
    json!({
        "id": id.to_string(),
        "filename": filename,
        "size": size,
        "url": url,
        "proxy_url": url,
        "content_type": content_type,
    })
}

/// User, role and everyone mentions written in message content.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mentions {
    pub users: Vec<u64>,
    pub roles: Vec<u64>,
    /// `@everyone` or `@here` appears in the content.
    pub everyone: bool,
}

/// Parses `<@id>`, `<@!id>`, `<@&id>`, `@everyone` and `@here` out of content.
pub fn parse_mentions(content: &str) -> Mentions {
    let mut out = Mentions {
        everyone: content.contains("@everyone") || content.contains("@here"),
        ..Mentions::default()
    };
    let mut rest = content;
    while let Some(start) = rest.find("<@") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find('>') else { break };
        let inner = &rest[..end];
        if let Some(role) = inner.strip_prefix('&') {
            if let Ok(id) = role.parse::<u64>()
                && !out.roles.contains(&id)
            {
                out.roles.push(id);
            }
        } else if let Ok(id) = inner.trim_start_matches('!').parse::<u64>()
            && !out.users.contains(&id)
        {
            out.users.push(id);
        }
    }
    out
}

/// A message (MESSAGE_CREATE `d`, and REST message responses) written by `author_id` in
/// `channel_id`. Guild channels get their own server's `guild_id` and the author's `member`
/// object *in that server*; mentions are parsed from the content and resolved to full user
/// objects from the world (with a `member` for those in that server).
pub fn message(world: &World, id: u64, channel_id: u64, author_id: u64, content: &str) -> Value {
    let author = world
        .user(author_id)
        .map_or_else(|| unknown_user(author_id), user);
    let mentions = parse_mentions(content);
    let guild = world.guild_of(channel_id);
    let mention_users: Vec<Value> = mentions
        .users
        .iter()
        .map(|id| mention_user(world, guild, *id))
        .collect();
    let mut v = json!({
        "id": id.to_string(),
        "channel_id": channel_id.to_string(),
        "author": author,
        "content": content,
        "timestamp": timestamp(world::snowflake_time(id)),
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": mentions.everyone,
        "mentions": mention_users,
        "mention_roles": mentions.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
        "attachments": [],
        "embeds": [],
        "reactions": [],
        "pinned": false,
        "type": 0,
        "flags": 0,
        "components": [],
    });
    if let Some(guild) = guild {
        v["guild_id"] = json!(guild.to_string());
        if let Some(m) = world.member_in(guild, author_id) {
            v["member"] = partial_member(m, None);
        }
    }
    v
}

/// A mentioned user as Discord sends it: a full user plus, in guilds, a partial `member`
/// when the user is a member of that guild.
fn mention_user(world: &World, guild: Option<u64>, id: u64) -> Value {
    let mut u = world.user(id).map_or_else(|| unknown_user(id), user);
    if let Some(m) = guild.and_then(|g| world.member_in(g, id)) {
        u["member"] = partial_member(m, None);
    }
    u
}

/// Turns `message` into a reply to `referenced` (type 19, `message_reference`,
/// `referenced_message`), as Discord sends replies.
pub fn into_reply(mut message: Value, referenced: &Value) -> Value {
    message["type"] = json!(19);
    message["message_reference"] = json!({
        "type": 0,
        "message_id": referenced["id"],
        "channel_id": referenced["channel_id"],
        "guild_id": referenced.get("guild_id").cloned().unwrap_or(Value::Null),
    });
    let mut quoted = referenced.clone();
    if let Some(obj) = quoted.as_object_mut() {
        // Discord does not nest references more than one level.
        obj.remove("referenced_message");
    }
    message["referenced_message"] = quoted;
    message
}

/// MESSAGE_UPDATE `d`: Discord sends the full edited message.
pub fn message_update(message: &Value, new_content: &str) -> Value {
    let mut v = message.clone();
    v["content"] = json!(new_content);
    v["edited_timestamp"] = json!(now());
    v
}

pub fn message_delete(channel_id: u64, message_id: u64, guild_id: Option<u64>) -> Value {
    let mut v = json!({ "id": message_id.to_string(), "channel_id": channel_id.to_string() });
    if let Some(g) = guild_id {
        v["guild_id"] = json!(g.to_string());
    }
    v
}

/// MESSAGE_DELETE_BULK `d`: Discord's `{ids, channel_id, guild_id}`.
pub fn message_delete_bulk(channel_id: u64, message_ids: &[u64], guild_id: Option<u64>) -> Value {
    let mut v = json!({
        "ids": message_ids.iter().map(u64::to_string).collect::<Vec<_>>(),
        "channel_id": channel_id.to_string(),
    });
    if let Some(g) = guild_id {
        v["guild_id"] = json!(g.to_string());
    }
    v
}

/// Discord's system message types the tests use (the full list is in Discord's docs).
pub mod message_kind {
    pub const DEFAULT: u8 = 0;
    pub const CHANNEL_PINNED_MESSAGE: u8 = 6;
    pub const USER_JOIN: u8 = 7;
    pub const GUILD_BOOST: u8 = 8;
    pub const THREAD_CREATED: u8 = 18;
    pub const REPLY: u8 = 19;
}

/// A system message of `kind` (e.g. [`message_kind::USER_JOIN`]) that Discord posts on
/// `author`'s behalf: the joining member, the one who pinned, the booster.
pub fn system_message(
    world: &World,
    id: u64,
    channel_id: u64,
    author_id: u64,
    kind: u8,
    content: &str,
) -> Value {
    let mut v = message(world, id, channel_id, author_id, content);
    v["type"] = json!(kind);
    v
}

/// A message posted through webhook `webhook_id` under the display name `name`: the author
/// is the webhook (not a member), `webhook_id` is set and there is no `member`.
pub fn webhook_message(
    world: &World,
    id: u64,
    channel_id: u64,
    webhook_id: u64,
    name: &str,
    content: &str,
) -> Value {
    let mut v = message(world, id, channel_id, webhook_id, content);
    v["author"] = json!({
        "id": webhook_id.to_string(),
        "username": name,
        "discriminator": "0000",
        "avatar": null,
        "bot": true,
    });
    v["webhook_id"] = json!(webhook_id.to_string());
    if let Some(obj) = v.as_object_mut() {
        obj.remove("member");
    }
    v
}

/// GUILD_MEMBER_UPDATE `d` in the first server.
pub fn guild_member_update(world: &World, m: &Member) -> Value {
    guild_member_update_in(world.guild_id, m)
}

/// GUILD_MEMBER_UPDATE `d` in server `guild_id`.
pub fn guild_member_update_in(guild_id: u64, m: &Member) -> Value {
    let mut v = member(m, None);
    v["guild_id"] = json!(guild_id.to_string());
    v["banner"] = Value::Null;
    v
}

/// GUILD_MEMBER_ADD `d` in the first server.
pub fn guild_member_add(world: &World, m: &Member) -> Value {
    guild_member_add_in(world.guild_id, m)
}

/// GUILD_MEMBER_ADD `d` in server `guild_id`.
pub fn guild_member_add_in(guild_id: u64, m: &Member) -> Value {
    let mut v = member(m, None);
    v["guild_id"] = json!(guild_id.to_string());
    v
}

/// GUILD_MEMBER_REMOVE `d` in the first server.
pub fn guild_member_remove(world: &World, u: &User) -> Value {
    guild_member_remove_in(world.guild_id, u)
}

/// GUILD_MEMBER_REMOVE `d` in server `guild_id`.
pub fn guild_member_remove_in(guild_id: u64, u: &User) -> Value {
    json!({ "guild_id": guild_id.to_string(), "user": user(u) })
}

/// GUILD_BAN_ADD / GUILD_BAN_REMOVE `d` in the first server.
pub fn guild_ban(world: &World, u: &User) -> Value {
    guild_ban_in(world.guild_id, u)
}

/// GUILD_BAN_ADD / GUILD_BAN_REMOVE `d` in server `guild_id`.
pub fn guild_ban_in(guild_id: u64, u: &User) -> Value {
    json!({ "guild_id": guild_id.to_string(), "user": user(u) })
}

/// THREAD_CREATE `d`.
pub fn thread_create(world: &World, c: &Channel) -> Value {
    let mut v = channel(world, c);
    v["newly_created"] = json!(true);
    v
}

/// PRESENCE_UPDATE `d` for a member of the first server.
pub fn presence_update(world: &World, user_id: u64, status: &str) -> Value {
    presence_update_in(world.guild_id, user_id, status)
}

/// PRESENCE_UPDATE `d` for a member of server `guild_id`.
pub fn presence_update_in(guild_id: u64, user_id: u64, status: &str) -> Value {
    json!({
        "user": {"id": user_id.to_string()},
        "guild_id": guild_id.to_string(),
        "status": status,
        "activities": [],
        "client_status": {"desktop": status},
    })
}

/// The kind of interaction [`interaction`] builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InteractionKind {
    /// APPLICATION_COMMAND (type 2): a slash command invocation.
    Command,
    /// APPLICATION_COMMAND_AUTOCOMPLETE (type 4): the user is typing a focused option.
    Autocomplete,
}

/// What a user invoked, for [`interaction`].
#[derive(Clone, Debug)]
pub struct Invocation<'a> {
    pub id: u64,
    pub token: &'a str,
    pub command_id: u64,
    pub channel_id: u64,
    pub invoker: u64,
    /// `"ping"`, or with subcommands `"memory forget"` / `"mod user timeout"`: extra words
    /// become subcommand (type 1) and subcommand group (type 2) options wrapping `options`.
    pub name: &'a str,
    /// The innermost options, as Discord's option objects (see [`opt`]).
    pub options: Value,
    pub kind: InteractionKind,
}

/// INTERACTION_CREATE `d` for a slash command or autocomplete in a channel of any server (or
/// a DM channel). In a server the interaction carries that server's `guild_id` and the
/// invoker's `member` object there, with `permissions` computed from that server's roles.
/// USER / CHANNEL / ROLE / MENTIONABLE options are resolved from the world into
/// `data.resolved`, as Discord does: `resolved.members` only for users who are members of
/// that server (`resolved.users` for everyone).
pub fn interaction(world: &World, inv: &Invocation<'_>) -> Value {
    let mut words = inv.name.split_whitespace();
    let root = words.next().unwrap_or_default().to_owned();
    let nested: Vec<&str> = words.collect();
    let mut options = match &inv.options {
        Value::Array(a) => Value::Array(a.clone()),
        Value::Null => json!([]),
        other => json!([other]),
    };
    for (depth, word) in nested.iter().enumerate().rev() {
        // With two nested words the first is a group (type 2), the last a subcommand (1).
        let kind = if depth + 1 == nested.len() { 1 } else { 2 };
        options = json!([{ "name": word, "type": kind, "options": options }]);
    }
    let guild = world.guild_of(inv.channel_id);
    let resolved = resolve_options(world, guild, &options);
    let data = json!({
        "id": inv.command_id.to_string(),
        "name": root,
        "type": 1,
        "options": options,
        "resolved": resolved,
    });
    let channel = world.channel(inv.channel_id);
    // In a server: its permissions; in a DM (or an unknown channel) the first server's, as
    // before multi-server worlds.
    let perms_of = |u: u64| world.permissions_in(guild.unwrap_or(world.guild_id), u);
    let channel_json = channel.map_or_else(
        || json!({"id": inv.channel_id.to_string(), "type": 0}),
        |c| {
            json!({
                "id": c.id.to_string(),
                "type": c.kind,
                "name": c.name,
                "permissions": perms_of(inv.invoker).to_string(),
            })
        },
    );
    let mut v = json!({
        "id": inv.id.to_string(),
        "application_id": world.application_id.to_string(),
        "type": match inv.kind { InteractionKind::Command => 2, InteractionKind::Autocomplete => 4 },
        "data": data,
        "channel_id": inv.channel_id.to_string(),
        "channel": channel_json,
        "token": inv.token,
        "version": 1,
        "app_permissions": perms_of(world.bot.id).to_string(),
        "locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": guild.unwrap_or(world.guild_id).to_string()},
        "context": if guild.is_some() { 0 } else { 1 },
        // Required by serenity 0.12.5.
        "attachment_size_limit": 10_485_760,
    });
    match guild.and_then(|g| Some((g, world.member_in(g, inv.invoker)?))) {
        Some((g, m)) => {
            v["guild_id"] = json!(g.to_string());
            v["guild_locale"] = json!("en-US");
            v["member"] = member(m, Some(world.permissions_in(g, inv.invoker)));
        }
        _ => {
            v["user"] = world
                .user(inv.invoker)
                .map_or_else(|| unknown_user(inv.invoker), user);
        }
    }
    v
}

/// Builds `data.resolved` for every USER (6), CHANNEL (7), ROLE (8) and MENTIONABLE (9)
/// option, at any nesting depth, as seen from server `guild` (`None` in DMs: roles and
/// channels then resolve against the first server, members against none).
fn resolve_options(world: &World, guild: Option<u64>, options: &Value) -> Value {
    let roles_from = world
        .guild(guild.unwrap_or(world.guild_id))
        .unwrap_or_else(|| known_guild(world, world.guild_id));
    let mut users = Map::new();
    let mut members = Map::new();
    let mut roles = Map::new();
    let mut channels = Map::new();
    let mut stack: Vec<&Value> = options
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    while let Some(o) = stack.pop() {
        if let Some(inner) = o.get("options").and_then(Value::as_array) {
            stack.extend(inner);
        }
        let Some(id) = o.get("value").and_then(world::snowflake) else {
            continue;
        };
        let kind = o.get("type").and_then(Value::as_u64).unwrap_or(0);
        let is_role = roles_from.role(id).is_some();
        if kind == 6 || (kind == 9 && !is_role) {
            let u = world.user(id).map_or_else(|| unknown_user(id), user);
            users.insert(id.to_string(), u);
            if let Some(g) = guild
                && let Some(m) = world.member_in(g, id)
            {
                members.insert(
                    id.to_string(),
                    partial_member(m, Some(world.permissions_in(g, id))),
                );
            }
        } else if (kind == 8 || kind == 9)
            && let Some(r) = roles_from.role(id)
        {
            roles.insert(id.to_string(), role(r));
        } else if kind == 7
            && let Some(c) = world.channel(id)
        {
            let mut pc = json!({
                "id": c.id.to_string(),
                "name": c.name,
                "type": c.kind,
                "permissions": world
                    .permissions_in(world.guild_of_channel(c).unwrap_or(world.guild_id), world.bot.id)
                    .to_string(),
            });
            if let Some(p) = c.parent_id {
                pc["parent_id"] = json!(p.to_string());
            }
            channels.insert(id.to_string(), pc);
        }
    }
    let mut resolved = Map::new();
    for (key, map) in [
        ("users", users),
        ("members", members),
        ("roles", roles),
        ("channels", channels),
    ] {
        if !map.is_empty() {
            resolved.insert(key.to_owned(), Value::Object(map));
        }
    }
    Value::Object(resolved)
}

/// Option objects for [`interaction`]: `opt::user("target", ids::ALICE)`.
pub mod opt {
    use serde_json::{Value, json};

    pub fn string(name: &str, value: &str) -> Value {
        json!({"name": name, "type": 3, "value": value})
    }
    pub fn integer(name: &str, value: i64) -> Value {
        json!({"name": name, "type": 4, "value": value})
    }
    pub fn boolean(name: &str, value: bool) -> Value {
        json!({"name": name, "type": 5, "value": value})
    }
    pub fn user(name: &str, id: u64) -> Value {
        json!({"name": name, "type": 6, "value": id.to_string()})
    }
    pub fn channel(name: &str, id: u64) -> Value {
        json!({"name": name, "type": 7, "value": id.to_string()})
    }
    pub fn role(name: &str, id: u64) -> Value {
        json!({"name": name, "type": 8, "value": id.to_string()})
    }
    pub fn mentionable(name: &str, id: u64) -> Value {
        json!({"name": name, "type": 9, "value": id.to_string()})
    }
    pub fn number(name: &str, value: f64) -> Value {
        json!({"name": name, "type": 10, "value": value})
    }
    /// A subcommand (type 1) with its options; usually simpler: a two-word command name.
    pub fn subcommand(name: &str, options: Vec<Value>) -> Value {
        json!({"name": name, "type": 1, "options": options})
    }
    /// A subcommand group (type 2) holding subcommands.
    pub fn group(name: &str, subcommands: Vec<Value>) -> Value {
        json!({"name": name, "type": 2, "options": subcommands})
    }
    /// The string option the user is typing, for autocomplete interactions.
    pub fn focused(name: &str, partial: &str) -> Value {
        json!({"name": name, "type": 3, "value": partial, "focused": true})
    }
}

/// Shallow merge: keys of `extra` overwrite keys of `base` (both must be objects).
pub fn merge(base: &mut Value, extra: Value) {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
}

#[cfg(test)]
mod tests {
    //! Every factory's output must deserialize with serenity's own types: the guard against
    //! dispatches that serenity would silently drop.

    use serenity::all as s;

    use super::*;
    use crate::world::{ThreadState, ids, perms};

    fn parse<T: serde::de::DeserializeOwned>(what: &str, v: &Value) -> T {
        match serde_json::from_value::<T>(v.clone()) {
            Ok(t) => t,
            Err(e) => panic!(
                "{what} does not deserialize as {}: {e}\n{v:#}",
                std::any::type_name::<T>()
            ),
        }
    }

    /// Parses the dispatch exactly as serenity's shard does and fails on `Event::Unknown`.
    fn dispatch_parses(t: &str, d: &Value) -> s::Event {
        let frame = json!({"op": 0, "s": 1, "t": t, "d": d});
        match parse::<s::GatewayEvent>(t, &frame) {
            s::GatewayEvent::Dispatch(1, s::Event::Unknown(u)) => {
                panic!("{t} would be dropped as Event::Unknown: {:#}", u.value)
            }
            s::GatewayEvent::Dispatch(_, e) => e,
            other => panic!("{t} parsed as {other:?}"),
        }
    }

    fn thread_world() -> (World, u64) {
        let mut w = World::default();
        let id = w.next_id();
        let mut t = Channel::text(id, "a thread");
        t.kind = channel_kind::PRIVATE_THREAD;
        t.parent_id = Some(ids::GENERAL);
        t.thread = Some(ThreadState {
            owner_id: ids::BOT,
            archived: false,
            locked: false,
            invitable: false,
            auto_archive_duration: 1440,
            created_at: Utc::now(),
            members: [ids::BOT].into(),
        });
        (w.with_channel(t), id)
    }

    #[test]
    fn basic_objects() {
        let w = World::default();
        let u: s::User = parse("user", &user(&w.bot));
        assert!(u.bot);
        let m: s::Member = parse("member", &member(w.member(ids::CAROL).unwrap(), None));
        assert_eq!(m.roles.len(), 2);
        let _: s::PartialMember = parse(
            "partial_member",
            &partial_member(w.member(ids::ALICE).unwrap(), Some(1)),
        );
        for r in &w.roles {
            let _: s::Role = parse("role", &role(r));
        }
        for e in &w.emojis {
            let parsed: s::Emoji = parse("emoji", &emoji(e));
            assert_eq!(parsed.animated, e.animated);
        }
        for c in &w.channels {
            let _: s::GuildChannel = parse("channel", &channel(&w, c));
        }
        let _: s::PartialGuild = parse("guild", &guild(&w));
        let _: s::CurrentApplicationInfo = parse("current_application", &current_application(&w));
        let _: s::BotGateway = parse("bot_gateway", &bot_gateway("ws://x"));
        let _: s::Attachment = parse("attachment", &attachment(1, "a.txt", 3, Some("text/plain")));
        let ban_json = ban(&Ban {
            user: User::new(5, "x"),
            reason: Some("spam".into()),
        });
        let _: s::Ban = parse("ban", &ban_json);
        let cmd = command(
            &w,
            9,
            Some(ids::GUILD),
            &json!({"name": "ping", "description": "Pong", "options": []}),
        );
        let c: s::Command = parse("command", &cmd);
        assert_eq!(c.name, "ping");
    }

    #[test]
    fn threads_and_dms() {
        let (mut w, thread_id) = thread_world();
        let t = w.channel(thread_id).unwrap().clone();
        let parsed: s::GuildChannel = parse("thread", &channel(&w, &t));
        assert_eq!(parsed.kind, s::ChannelType::PrivateThread);
        assert!(parsed.thread_metadata.is_some());
        dispatch_parses("THREAD_CREATE", &thread_create(&w, &t));
        let dm_id = w.next_id();
        let mut dm = Channel::text(dm_id, "");
        dm.kind = channel_kind::DM;
        dm.recipient = Some(ids::ALICE);
        let w = w.with_channel(dm.clone());
        let p: s::PrivateChannel = parse("dm channel", &channel(&w, &dm));
        assert_eq!(p.recipient.id.get(), ids::ALICE);
    }

    #[test]
    fn ready_and_guild_create() {
        let (w, _) = thread_world();
        let r: s::Ready = parse("ready", &ready(&w, "sess", "ws://x"));
        assert_eq!(r.application.id.get(), ids::APPLICATION);
        let g: s::Guild = parse("guild_create", &guild_create(&w));
        assert_eq!(g.members.len(), 6);
        assert_eq!(g.channels.len(), 2);
        assert_eq!(g.threads.len(), 1);
        assert_eq!(g.emojis.len(), 2);
        assert_eq!(g.roles.len(), 4);
        assert!(matches!(
            dispatch_parses("READY", &ready(&w, "s", "ws://x")),
            s::Event::Ready(_)
        ));
        assert!(matches!(
            dispatch_parses("GUILD_CREATE", &guild_create(&w)),
            s::Event::GuildCreate(_)
        ));
    }

    #[test]
    fn messages() {
        let w = World::default();
        let content = format!(
            "hi <@{}> and <@!{}> <@&{}> @everyone",
            ids::BOT,
            ids::BOB,
            ids::MODERATOR_ROLE
        );
        let m = message(
            &w,
            1_300_000_000_000_000_001,
            ids::GENERAL,
            ids::ALICE,
            &content,
        );
        let parsed: s::Message = parse("message", &m);
        assert_eq!(parsed.mentions.len(), 2);
        assert_eq!(parsed.mention_roles.len(), 1);
        assert!(parsed.mention_everyone);
        assert_eq!(parsed.guild_id.map(|g| g.get()), Some(ids::GUILD));
        assert!(parsed.member.is_some());
        assert!(matches!(
            dispatch_parses("MESSAGE_CREATE", &m),
            s::Event::MessageCreate(_)
        ));

        let reply = into_reply(
            message(&w, 1_300_000_000_000_000_002, ids::GENERAL, ids::BOB, "yes"),
            &m,
        );
        let parsed: s::Message = parse("reply", &reply);
        assert_eq!(
            parsed.referenced_message.unwrap().id.get(),
            1_300_000_000_000_000_001
        );
        assert!(parsed.message_reference.is_some());
        dispatch_parses("MESSAGE_CREATE", &reply);

        let upd = message_update(&m, "edited");
        let e = dispatch_parses("MESSAGE_UPDATE", &upd);
        assert!(matches!(e, s::Event::MessageUpdate(u) if u.content.as_deref() == Some("edited")));
        let del = message_delete(ids::GENERAL, 1, Some(ids::GUILD));
        assert!(matches!(
            dispatch_parses("MESSAGE_DELETE", &del),
            s::Event::MessageDelete(_)
        ));
        let bulk = message_delete_bulk(ids::GENERAL, &[1, 2, 3], Some(ids::GUILD));
        assert!(matches!(
            dispatch_parses("MESSAGE_DELETE_BULK", &bulk),
            s::Event::MessageDeleteBulk(e) if e.ids.len() == 3
        ));
    }

    #[test]
    fn system_and_webhook_messages() {
        let w = World::default();
        for (kind, expected) in [
            (message_kind::USER_JOIN, s::MessageType::MemberJoin),
            (
                message_kind::CHANNEL_PINNED_MESSAGE,
                s::MessageType::PinsAdd,
            ),
            (message_kind::GUILD_BOOST, s::MessageType::NitroBoost),
            (message_kind::THREAD_CREATED, s::MessageType::ThreadCreated),
        ] {
            let m = system_message(
                &w,
                1_300_000_000_000_000_003,
                ids::GENERAL,
                ids::ALICE,
                kind,
                "",
            );
            let parsed: s::Message = parse("system message", &m);
            assert_eq!(parsed.kind, expected);
            dispatch_parses("MESSAGE_CREATE", &m);
        }
        let hook = webhook_message(
            &w,
            1_300_000_000_000_000_004,
            ids::GENERAL,
            5555,
            "Announcer",
            "news",
        );
        let parsed: s::Message = parse("webhook message", &hook);
        assert_eq!(parsed.webhook_id.map(|h| h.get()), Some(5555));
        assert_eq!(parsed.author.name, "Announcer");
        assert!(parsed.member.is_none());
        dispatch_parses("MESSAGE_CREATE", &hook);
    }

    #[test]
    fn member_events() {
        let mut w = World::default();
        w.member_mut(ids::ALICE)
            .unwrap()
            .communication_disabled_until = Some("2030-01-01T00:00:00.000Z".into());
        let alice = w.member(ids::ALICE).unwrap();
        assert!(matches!(
            dispatch_parses("GUILD_MEMBER_UPDATE", &guild_member_update(&w, alice)),
            s::Event::GuildMemberUpdate(_)
        ));
        assert!(matches!(
            dispatch_parses("GUILD_MEMBER_ADD", &guild_member_add(&w, alice)),
            s::Event::GuildMemberAdd(_)
        ));
        assert!(matches!(
            dispatch_parses("GUILD_MEMBER_REMOVE", &guild_member_remove(&w, &alice.user)),
            s::Event::GuildMemberRemove(_)
        ));
        assert!(matches!(
            dispatch_parses("GUILD_BAN_ADD", &guild_ban(&w, &alice.user)),
            s::Event::GuildBanAdd(_)
        ));
        assert!(matches!(
            dispatch_parses("GUILD_BAN_REMOVE", &guild_ban(&w, &alice.user)),
            s::Event::GuildBanRemove(_)
        ));
        assert!(matches!(
            dispatch_parses(
                "PRESENCE_UPDATE",
                &presence_update(&w, ids::ALICE, "online")
            ),
            s::Event::PresenceUpdate(_)
        ));
        assert!(matches!(
            dispatch_parses("RESUMED", &json!({})),
            s::Event::Resumed(_)
        ));
    }

    #[test]
    fn slash_command_with_subcommands_and_resolved_user() {
        let w = World::default();
        let inv = Invocation {
            id: 11,
            token: "tok",
            command_id: 12,
            channel_id: ids::GENERAL,
            invoker: ids::CAROL,
            name: "mod member timeout",
            options: json!([
                opt::user("target", ids::ALICE),
                opt::integer("minutes", 10),
                opt::string("reason", "spam"),
                opt::boolean("silent", true),
                opt::number("x", 1.5)
            ]),
            kind: InteractionKind::Command,
        };
        let v = interaction(&w, &inv);
        let i: s::Interaction = parse("interaction", &v);
        let s::Interaction::Command(c) = i else {
            panic!("not a command interaction")
        };
        assert_eq!(c.data.name, "mod");
        assert_eq!(c.user.id.get(), ids::CAROL);
        let member = c.member.as_ref().unwrap();
        assert_ne!(
            member.permissions.unwrap().bits() & perms::MODERATE_MEMBERS,
            0
        );
        assert!(
            c.data
                .resolved
                .users
                .contains_key(&s::UserId::new(ids::ALICE))
        );
        assert!(
            c.data
                .resolved
                .members
                .contains_key(&s::UserId::new(ids::ALICE))
        );
        let s::CommandDataOptionValue::SubCommandGroup(group) = &c.data.options[0].value else {
            panic!("no group")
        };
        let s::CommandDataOptionValue::SubCommand(sub) = &group[0].value else {
            panic!("no sub")
        };
        assert_eq!(sub.len(), 5);
        assert_eq!(
            sub[0].value,
            s::CommandDataOptionValue::User(s::UserId::new(ids::ALICE))
        );
        assert!(matches!(
            dispatch_parses("INTERACTION_CREATE", &v),
            s::Event::InteractionCreate(_)
        ));

        let plain = interaction(
            &w,
            &Invocation {
                name: "ping",
                options: Value::Null,
                ..inv.clone()
            },
        );
        let s::Interaction::Command(c) = parse("ping", &plain) else {
            panic!()
        };
        assert!(c.data.options.is_empty());
        let with_channel = interaction(
            &w,
            &Invocation {
                name: "x",
                options: json!([
                    opt::channel("c", ids::RANDOM),
                    opt::role("r", ids::MEMBER_ROLE),
                    opt::mentionable("m", ids::BOB)
                ]),
                ..inv.clone()
            },
        );
        let s::Interaction::Command(c) = parse("channel/role options", &with_channel) else {
            panic!()
        };
        assert_eq!(c.data.resolved.channels.len(), 1);
        assert_eq!(c.data.resolved.roles.len(), 1);
        assert_eq!(c.data.resolved.users.len(), 1);
    }

    #[test]
    fn autocomplete_interaction() {
        let w = World::default();
        let inv = Invocation {
            id: 11,
            token: "tok",
            command_id: 12,
            channel_id: ids::GENERAL,
            invoker: ids::ALICE,
            name: "persona set",
            options: json!([opt::focused("name", "fri")]),
            kind: InteractionKind::Autocomplete,
        };
        let v = interaction(&w, &inv);
        let s::Interaction::Autocomplete(a) = parse("autocomplete", &v) else {
            panic!("not autocomplete")
        };
        let focused = a.data.autocomplete().unwrap();
        assert_eq!(focused.value, "fri");
        dispatch_parses("INTERACTION_CREATE", &v);
    }

    #[test]
    fn second_server_payloads() {
        let w = World::default();
        let g: s::Guild = parse("guild_create other", &guild_create_in(&w, ids::OTHER_GUILD));
        assert_eq!(g.id.get(), ids::OTHER_GUILD);
        assert_eq!(g.owner_id.get(), ids::OTHER_OWNER);
        assert_eq!(g.members.len(), 4);
        assert!(g.members.contains_key(&s::UserId::new(ids::DAVE)));
        assert!(!g.members.contains_key(&s::UserId::new(ids::CAROL)));
        assert_eq!(g.channels.len(), 1);
        assert_eq!(
            g.channels[&s::ChannelId::new(ids::OTHER_GENERAL)]
                .guild_id
                .get(),
            ids::OTHER_GUILD
        );
        assert_eq!(g.emojis.len(), 1);
        assert_eq!(g.roles.len(), 4);
        let r: s::Ready = parse("ready", &ready(&w, "sess", "ws://x"));
        assert_eq!(r.guilds.len(), 2);

        // A message in the second server carries its guild and Alice's member object there.
        let content = format!("<@{}> hi <@{}>", ids::BOT, ids::CAROL);
        let m = message(&w, 5, ids::OTHER_GENERAL, ids::ALICE, &content);
        let parsed: s::Message = parse("message other", &m);
        assert_eq!(parsed.guild_id.map(|g| g.get()), Some(ids::OTHER_GUILD));
        let member = parsed.member.as_ref().unwrap();
        assert_eq!(member.nick.as_deref(), Some("ally"));
        assert_eq!(member.roles, vec![s::RoleId::new(ids::OTHER_MEMBER_ROLE)]);
        // Carol is not in this server: mentioned, but without a member object.
        assert!(m["mentions"][0].get("member").is_some());
        assert!(m["mentions"][1].get("member").is_none());

        // Dave runs a command in his server: member, guild and permissions from there.
        let inv = Invocation {
            id: 11,
            token: "tok",
            command_id: 12,
            channel_id: ids::OTHER_GENERAL,
            invoker: ids::DAVE,
            name: "settings",
            options: json!([opt::user("a", ids::ALICE), opt::user("c", ids::CAROL)]),
            kind: InteractionKind::Command,
        };
        let v = interaction(&w, &inv);
        let s::Interaction::Command(c) = parse("interaction other", &v) else {
            panic!("not a command")
        };
        assert_eq!(c.guild_id.map(|g| g.get()), Some(ids::OTHER_GUILD));
        let perms_bits = c.member.as_ref().unwrap().permissions.unwrap().bits();
        assert_ne!(perms_bits & perms::MANAGE_GUILD, 0);
        let users = &c.data.resolved.users;
        let members = &c.data.resolved.members;
        assert!(users.contains_key(&s::UserId::new(ids::CAROL)));
        assert!(members.contains_key(&s::UserId::new(ids::ALICE)));
        assert!(!members.contains_key(&s::UserId::new(ids::CAROL)));

        // Carol (GUILD's moderator) is nobody special in GUILD: no Manage Server in a
        // second-server channel, and as a non-member she has no member object there.
        let carol = interaction(
            &w,
            &Invocation {
                invoker: ids::CAROL,
                ..inv.clone()
            },
        );
        assert!(carol.get("member").is_none());
        let alice = interaction(
            &w,
            &Invocation {
                invoker: ids::ALICE,
                ..inv.clone()
            },
        );
        let bits: u64 = alice["member"]["permissions"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(bits & perms::MANAGE_GUILD, 0);
        assert_eq!(alice["member"]["nick"], "ally");
        for (t, d) in [
            (
                "GUILD_MEMBER_UPDATE",
                guild_member_update_in(
                    ids::OTHER_GUILD,
                    w.member_in(ids::OTHER_GUILD, ids::ALICE).unwrap(),
                ),
            ),
            ("INTERACTION_CREATE", v),
            ("MESSAGE_CREATE", m),
        ] {
            dispatch_parses(t, &d);
        }
    }

    /// The guard itself works: a message without `tts` is exactly the silent drop it exists
    /// to catch.
    #[test]
    #[should_panic(expected = "Event::Unknown")]
    fn guard_catches_a_missing_required_field() {
        let w = World::default();
        let mut m = message(&w, 1, ids::GENERAL, ids::ALICE, "hi");
        m.as_object_mut().unwrap().remove("tts");
        dispatch_parses("MESSAGE_CREATE", &m);
    }

    #[test]
    fn mention_parser() {
        let m = parse_mentions("<@1> <@!2> <@&3> <@1> <@x> <:blob:7000> <@");
        assert_eq!(
            m,
            Mentions {
                users: vec![1, 2],
                roles: vec![3],
                everyone: false
            }
        );
    }
}
