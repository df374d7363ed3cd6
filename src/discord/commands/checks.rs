//! Server-side permission checks. `default_member_permissions` only hides a command in the
//! Discord UI (server admins can change it) and poise's `required_permissions` ignores role
//! hierarchy, so every command checks here, from what the interaction itself carries: the
//! invoker's effective permissions (`member.permissions`), the bot's (`app_permissions`),
//! and the server's roles from the gateway cache.

use super::{Context, Error, UserError};
use crate::domain::moderation::{Party, RoleRank, perms};
use crate::domain::{ServerMember, UserId};
use serenity::all::{CommandInteraction, GuildId, Member, RoleId};
use std::collections::HashMap;

/// The interaction behind a slash command.
pub fn interaction<'a>(ctx: Context<'a>) -> Result<&'a CommandInteraction, Error> {
    match ctx {
        poise::Context::Application(app) => Ok(app.interaction),
        poise::Context::Prefix(_) => Err(UserError::boxed("Use the slash command version.")),
    }
}

pub fn guild_id(ctx: Context<'_>) -> Result<GuildId, Error> {
    ctx.guild_id()
        .ok_or_else(|| UserError::boxed("This command only works in a server."))
}

/// The invoker's effective permissions in this channel, as Discord computed them.
pub fn invoker_permissions(ctx: Context<'_>) -> u64 {
    interaction(ctx)
        .ok()
        .and_then(|i| i.member.as_ref())
        .and_then(|m| m.permissions)
        .map_or(0, |p| p.bits())
}

/// The bot's effective permissions in this channel, as Discord computed them.
pub fn bot_permissions(ctx: Context<'_>) -> u64 {
    interaction(ctx)
        .ok()
        .and_then(|i| i.app_permissions)
        .map_or(0, |p| p.bits())
}

/// Refuses unless the invoker holds `bit` (or Administrator).
pub fn require(ctx: Context<'_>, bit: u64) -> Result<(), Error> {
    if perms::has(invoker_permissions(ctx), bit) {
        Ok(())
    } else {
        Err(UserError::boxed(format!(
            "You need the {} permission for this.",
            perms::name(bit)
        )))
    }
}

/// Refuses unless the bot holds `bit` (or Administrator).
pub fn require_bot(ctx: Context<'_>, bit: u64) -> Result<(), Error> {
    if perms::has(bot_permissions(ctx), bit) {
        Ok(())
    } else {
        Err(UserError::boxed(format!(
            "I need the {} permission for this; ask an admin to grant it to my role.",
            perms::name(bit)
        )))
    }
}

/// Bot owners: `bot.owner_ids` and the application's owner (or team members) as Discord
/// reports them. They alone change what every server shares: the base persona and its
/// name, the mood, bot-wide state.
pub fn is_owner(ctx: Context<'_>) -> bool {
    let user = ctx.author().id;
    ctx.data().settings.bot.owner_ids.contains(&user.get())
        || ctx.framework().options().owners.contains(&user)
}

/// Admins of the server the command was invoked in: Administrator or Manage Server there
/// (as Discord computed them for this interaction), the configured admin role, or the
/// server's owner; and bot owners. Nothing here carries over to another server: every
/// admin command reads and writes only the server it was invoked in.
pub fn is_admin(ctx: Context<'_>) -> bool {
    if is_owner(ctx) {
        return true;
    }
    if ctx.guild_id().is_none() {
        return false;
    }
    let permissions = invoker_permissions(ctx);
    if perms::has(permissions, perms::ADMINISTRATOR) || perms::has(permissions, perms::MANAGE_GUILD)
    {
        return true;
    }
    let Ok(inter) = interaction(ctx) else {
        return false;
    };
    let Some(member) = inter.member.as_ref() else {
        return false;
    };
    if let Some(role) = ctx.data().settings.bot.admin_role_id
        && member.roles.iter().any(|r| r.get() == role)
    {
        return true;
    }
    ctx.guild().is_some_and(|g| g.owner_id == member.user.id)
}

pub fn require_admin(ctx: Context<'_>) -> Result<(), Error> {
    if is_admin(ctx) {
        Ok(())
    } else {
        Err(UserError::boxed(
            "Only this server's administrators (Administrator or Manage Server), its owner, \
             the bot's owners and the admin role can use this.",
        ))
    }
}

pub fn require_owner(ctx: Context<'_>) -> Result<(), Error> {
    if is_owner(ctx) {
        Ok(())
    } else {
        Err(UserError::boxed(
            "Only the bot's owners can change what every server shares (the base persona, \
             its name, the mood and bot-wide state). Change this server's layer instead.",
        ))
    }
}

/// A `member` option, as a member of the server the command runs in. Discord resolves a
/// user option to a member only when they belong to that server; anyone else (a member of
/// another server, say) is refused rather than looked up.
pub fn member_here(ctx: Context<'_>, user: &serenity::all::User) -> Result<ServerMember, Error> {
    let guild = guild_id(ctx)?;
    let in_server = interaction(ctx)?
        .data
        .resolved
        .members
        .contains_key(&user.id);
    if in_server {
        Ok(ServerMember::new(
            crate::domain::GuildId(guild.get()),
            UserId(user.id.get()),
        ))
    } else {
        Err(UserError::boxed(format!(
            "{} is not a member of this server.",
            user.name
        )))
    }
}

/// A channel option, refused unless it is a channel (or thread) of the server the command
/// runs in: from the gateway cache, or over REST when the cache does not know it.
pub async fn channel_here(
    ctx: Context<'_>,
    channel: serenity::all::ChannelId,
) -> Result<crate::domain::ChannelId, Error> {
    let guild = guild_id(ctx)?;
    let cached = ctx
        .guild()
        .map(|g| g.channels.contains_key(&channel) || g.threads.iter().any(|t| t.id == channel));
    let here = match cached {
        Some(true) => true,
        _ => match ctx.http().get_channel(channel).await {
            Ok(serenity::all::Channel::Guild(c)) => c.guild_id == guild,
            Ok(_) => false,
            Err(error) if is_not_found(&error) || is_forbidden(&error) => false,
            Err(error) => return Err(Box::new(error)),
        },
    };
    if here {
        Ok(crate::domain::ChannelId(channel.get()))
    } else {
        Err(UserError::boxed("That channel is not in this server."))
    }
}

/// The server as the hierarchy rules need it: owner, and each role's position and
/// permissions.
pub struct GuildView {
    pub id: GuildId,
    pub name: String,
    pub owner: UserId,
    roles: HashMap<RoleId, (u16, u64)>,
}

impl GuildView {
    /// From the gateway cache, or over REST if the server is not cached.
    pub async fn load(ctx: Context<'_>) -> Result<GuildView, Error> {
        let id = guild_id(ctx)?;
        let cached = ctx.guild().map(|g| GuildView {
            id,
            name: g.name.clone(),
            owner: UserId(g.owner_id.get()),
            roles: g
                .roles
                .values()
                .map(|r| (r.id, (r.position, r.permissions.bits())))
                .collect(),
        });
        if let Some(view) = cached {
            return Ok(view);
        }
        let g = ctx.http().get_guild(id).await?;
        Ok(GuildView {
            id,
            name: g.name.clone(),
            owner: UserId(g.owner_id.get()),
            roles: g
                .roles
                .values()
                .map(|r| (r.id, (r.position, r.permissions.bits())))
                .collect(),
        })
    }

    /// The member's highest role (`@everyone` if none).
    pub fn top_role(&self, roles: &[RoleId]) -> RoleRank {
        let everyone = RoleRank {
            position: 0,
            id: self.id.get(),
        };
        roles
            .iter()
            .filter_map(|r| {
                self.roles.get(r).map(|(position, _)| RoleRank {
                    position: *position,
                    id: r.get(),
                })
            })
            .max()
            .unwrap_or(everyone)
    }

    /// Server-wide permissions from roles (channel overwrites aside).
    pub fn permissions(&self, user: UserId, roles: &[RoleId]) -> u64 {
        if user == self.owner {
            return u64::MAX;
        }
        let everyone = RoleId::new(self.id.get());
        std::iter::once(&everyone)
            .chain(roles)
            .filter_map(|r| self.roles.get(r).map(|(_, bits)| *bits))
            .fold(0, |acc, bits| acc | bits)
    }

    /// A member as the moderation rules see them.
    pub fn party(&self, member: &Member, permissions: Option<u64>) -> Party {
        let id = UserId(member.user.id.get());
        Party {
            id,
            top_role: self.top_role(&member.roles),
            permissions: permissions.unwrap_or_else(|| self.permissions(id, &member.roles)),
        }
    }
}

/// Whether a serenity error is Discord's 404 (unknown member, ban, channel...).
pub fn is_not_found(error: &serenity::Error) -> bool {
    matches!(
        error,
        serenity::Error::Http(serenity::all::HttpError::UnsuccessfulRequest(r))
            if r.status_code.as_u16() == 404
    )
}

/// Whether Discord refused for lack of permission (403 / code 50013).
pub fn is_forbidden(error: &serenity::Error) -> bool {
    matches!(
        error,
        serenity::Error::Http(serenity::all::HttpError::UnsuccessfulRequest(r))
            if r.status_code.as_u16() == 403
    )
}

/// Turns a Discord refusal into a clear message for the invoker.
pub fn discord_refusal(error: serenity::Error, doing: &str) -> Error {
    if is_forbidden(&error) {
        UserError::boxed(format!(
            "Discord refused to let me {doing}: I am missing a permission or my role is too low."
        ))
    } else if is_not_found(&error) {
        UserError::boxed(format!("Discord could not find what I needed to {doing}."))
    } else {
        Box::new(error)
    }
}
