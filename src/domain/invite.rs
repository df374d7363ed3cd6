//! The invite link a new operator follows to add the bot to a server: exactly the scopes
//! and permissions the bot uses, so no server has to grant more than it needs.

use super::moderation::perms;

/// What each permission bit is for, in the order the console lists them.
pub const INVITE_PERMISSIONS: &[(u64, &str)] = &[
    (1 << 10, "View Channels: see the channels it talks in"),
    (1 << 11, "Send Messages: answer"),
    (
        perms::SEND_MESSAGES_IN_THREADS,
        "Send Messages in Threads: answer in threads and tickets",
    ),
    (1 << 14, "Embed Links: slash command answers"),
    (1 << 16, "Read Message History: catch up after a restart"),
    (1 << 6, "Add Reactions: react with emotes"),
    (
        1 << 18,
        "Use External Emojis: the emotes of its other servers",
    ),
    (perms::KICK_MEMBERS, "Kick Members: /mod kick"),
    (
        perms::BAN_MEMBERS,
        "Ban Members: /mod ban and temporary bans",
    ),
    (perms::MODERATE_MEMBERS, "Timeout Members: /mod timeout"),
    (
        perms::CREATE_PRIVATE_THREADS,
        "Create Private Threads: support tickets",
    ),
    (perms::MANAGE_THREADS, "Manage Threads: close tickets"),
];

/// The OAuth2 scopes: the bot user and its slash commands.
pub const INVITE_SCOPES: &str = "bot applications.commands";

/// Every bit of [`INVITE_PERMISSIONS`].
pub fn invite_permissions() -> u64 {
    INVITE_PERMISSIONS.iter().fold(0, |acc, (bit, _)| acc | bit)
}

/// The authorize URL for the application `client_id`.
pub fn invite_url(client_id: u64) -> String {
    format!(
        "https://discord.com/oauth2/authorize?client_id={client_id}&scope={}&permissions={}",
        INVITE_SCOPES.replace(' ', "+"),
        invite_permissions()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_names_both_scopes_and_every_permission() {
        let url = invite_url(1000);
        assert!(
            url.contains("client_id=1000&scope=bot+applications.commands"),
            "{url}"
        );
        let bits = invite_permissions();
        assert_eq!(bits.count_ones() as usize, INVITE_PERMISSIONS.len());
        assert_eq!(bits & perms::ADMINISTRATOR, 0, "never Administrator");
        assert!(url.ends_with(&format!("permissions={bits}")));
    }
}
