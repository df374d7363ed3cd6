//! Moderation rules: who may act on whom, and how long a timeout or temporary ban may last.
//!
//! Discord checks role hierarchy for the bot's own REST calls, but not for the *invoker* of a
//! slash command: `default_member_permissions` is only a UI default and poise's
//! `required_permissions` ignores roles. These rules are the server-side check, decided from
//! plain data (permission bits, role positions) so they are tested without Discord.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};

use super::UnknownValue;
use super::ids::{GuildId, UserId};

/// Discord permission bits the moderation commands need.
pub mod perms {
    pub const KICK_MEMBERS: u64 = 1 << 1;
    pub const BAN_MEMBERS: u64 = 1 << 2;
    pub const ADMINISTRATOR: u64 = 1 << 3;
    pub const MANAGE_GUILD: u64 = 1 << 5;
    pub const MANAGE_THREADS: u64 = 1 << 34;
    pub const CREATE_PRIVATE_THREADS: u64 = 1 << 36;
    pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;
    pub const MODERATE_MEMBERS: u64 = 1 << 40;

    /// Whether `held` grants `needed` (Administrator grants everything).
    pub fn has(held: u64, needed: u64) -> bool {
        held & ADMINISTRATOR != 0 || held & needed == needed
    }

    /// A readable name for one of the bits above.
    pub fn name(bit: u64) -> &'static str {
        match bit {
            KICK_MEMBERS => "Kick Members",
            BAN_MEMBERS => "Ban Members",
            ADMINISTRATOR => "Administrator",
            MANAGE_GUILD => "Manage Server",
            MANAGE_THREADS => "Manage Threads",
            CREATE_PRIVATE_THREADS => "Create Private Threads",
            SEND_MESSAGES_IN_THREADS => "Send Messages in Threads",
            MODERATE_MEMBERS => "Timeout Members",
            _ => "a required permission",
        }
    }
}

/// Longest timeout Discord accepts.
pub const MAX_TIMEOUT_DAYS: i64 = 28;
/// Longest temporary ban the bot schedules (longer ones are permanent bans).
pub const MAX_TEMPBAN_DAYS: i64 = 365;
/// Shortest timeout or temporary ban.
pub const MIN_DURATION_SECS: i64 = 60;
/// Discord deletes at most 7 days of messages on a ban.
pub const MAX_DELETE_MESSAGE_DAYS: i64 = 7;

/// A moderation action as the rules see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sanction {
    Kick,
    Ban,
    Unban,
    Timeout,
    Untimeout,
}

impl Sanction {
    /// The permission both the invoker and the bot must hold.
    pub fn permission(self) -> u64 {
        match self {
            Sanction::Kick => perms::KICK_MEMBERS,
            Sanction::Ban | Sanction::Unban => perms::BAN_MEMBERS,
            Sanction::Timeout | Sanction::Untimeout => perms::MODERATE_MEMBERS,
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Sanction::Kick => "kick",
            Sanction::Ban => "ban",
            Sanction::Unban => "unban",
            Sanction::Timeout => "time out",
            Sanction::Untimeout => "lift the timeout of",
        }
    }

    /// Whether the target must currently be a member (a ban also works on someone who left).
    fn needs_member(self) -> bool {
        matches!(
            self,
            Sanction::Kick | Sanction::Timeout | Sanction::Untimeout
        )
    }
}

/// Where a member's highest role sits. Discord orders roles by position, and among equal
/// positions the older role (lower id) ranks higher. Members without roles rank as
/// `@everyone` (position 0, id = the server's id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoleRank {
    pub position: u16,
    pub id: u64,
}

impl Ord for RoleRank {
    fn cmp(&self, other: &Self) -> Ordering {
        self.position
            .cmp(&other.position)
            .then_with(|| other.id.cmp(&self.id))
    }
}

impl PartialOrd for RoleRank {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// One member in a moderation decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Party {
    pub id: UserId,
    pub top_role: RoleRank,
    /// Effective server permissions.
    pub permissions: u64,
}

/// Who is acted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Member(Party),
    /// Not (or no longer) in the server.
    Absent(UserId),
}

impl Target {
    pub fn id(&self) -> UserId {
        match self {
            Target::Member(p) => p.id,
            Target::Absent(id) => *id,
        }
    }
}

/// Everything the decision needs.
#[derive(Clone, Copy, Debug)]
pub struct Situation {
    pub owner: UserId,
    pub invoker: Party,
    pub bot: Party,
    pub target: Target,
}

/// Why an action is refused; the text is shown to the invoker.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("you need the {0} permission for this")]
    InvokerLacks(&'static str),
    #[error("I need the {0} permission for this; ask an admin to grant it to my role")]
    BotLacks(&'static str),
    #[error("you cannot {0} yourself")]
    SelfTarget(&'static str),
    #[error("nobody can {0} the server owner")]
    OwnerTarget(&'static str),
    #[error("I will not {0} myself")]
    BotTarget(&'static str),
    #[error("that user is not a member of this server (any more)")]
    NotAMember,
    #[error("your highest role must be above theirs to {0} them")]
    InvokerNotAbove(&'static str),
    #[error(
        "my highest role must be above theirs to {0} them; move my role up in the server settings"
    )]
    BotNotAbove(&'static str),
    #[error("Discord does not allow timing out administrators")]
    AdministratorTimeout,
}

/// Decides whether `action` may go ahead. Order: permissions, then who the target is, then
/// role hierarchy (the owner outranks everyone).
pub fn check(action: Sanction, s: &Situation) -> Result<(), Refusal> {
    let needed = action.permission();
    let verb = action.verb();
    if s.invoker.id != s.owner && !perms::has(s.invoker.permissions, needed) {
        return Err(Refusal::InvokerLacks(perms::name(needed)));
    }
    if !perms::has(s.bot.permissions, needed) {
        return Err(Refusal::BotLacks(perms::name(needed)));
    }
    let target = s.target.id();
    if action != Sanction::Unban {
        if target == s.invoker.id {
            return Err(Refusal::SelfTarget(verb));
        }
        if target == s.bot.id {
            return Err(Refusal::BotTarget(verb));
        }
        if target == s.owner {
            return Err(Refusal::OwnerTarget(verb));
        }
    }
    match s.target {
        Target::Absent(_) if action.needs_member() => Err(Refusal::NotAMember),
        Target::Absent(_) => Ok(()),
        Target::Member(_) if action == Sanction::Unban => Ok(()),
        Target::Member(t) => {
            if s.invoker.id != s.owner && s.invoker.top_role <= t.top_role {
                return Err(Refusal::InvokerNotAbove(verb));
            }
            if s.bot.top_role <= t.top_role {
                return Err(Refusal::BotNotAbove(verb));
            }
            if action == Sanction::Timeout && t.permissions & perms::ADMINISTRATOR != 0 {
                return Err(Refusal::AdministratorTimeout);
            }
            Ok(())
        }
    }
}

/// A duration a moderator typed that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("`{0}` is not a duration; write it like `10m`, `2h`, `1d12h` or `1w` (s, m, h, d, w)")]
    Malformed(String),
    #[error("the duration must be at least {min}")]
    TooShort { min: String },
    #[error("the duration must be at most {max}")]
    TooLong { max: String },
}

/// Parses `90s`, `10m`, `2h30m`, `1d`, `2w`, `1 day`, or a bare number of minutes.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let malformed = || DurationError::Malformed(text.trim().to_owned());
    let compact: String = text
        .trim()
        .to_ascii_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if compact.is_empty() {
        return Err(malformed());
    }
    if let Ok(minutes) = compact.parse::<i64>() {
        return minutes
            .checked_mul(60)
            .and_then(Duration::try_seconds)
            .ok_or_else(malformed);
    }
    let mut total: i64 = 0;
    let mut rest = compact.as_str();
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(malformed());
        }
        let amount: i64 = rest[..digits].parse().map_err(|_| malformed())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let seconds = match unit {
            "s" | "sec" | "secs" | "second" | "seconds" => 1,
            "m" | "min" | "mins" | "minute" | "minutes" => 60,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3_600,
            "d" | "day" | "days" => 86_400,
            "w" | "wk" | "week" | "weeks" => 604_800,
            _ => return Err(malformed()),
        };
        total = amount
            .checked_mul(seconds)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(malformed)?;
    }
    Duration::try_seconds(total).ok_or_else(malformed)
}

fn bounded(d: Duration, max_days: i64) -> Result<Duration, DurationError> {
    let min = Duration::seconds(MIN_DURATION_SECS);
    let max = Duration::days(max_days);
    if d < min {
        return Err(DurationError::TooShort {
            min: human_duration(min),
        });
    }
    if d > max {
        return Err(DurationError::TooLong {
            max: human_duration(max),
        });
    }
    Ok(d)
}

/// A timeout length: 1 minute to Discord's 28 days.
pub fn timeout_duration(text: &str) -> Result<Duration, DurationError> {
    bounded(parse_duration(text)?, MAX_TIMEOUT_DAYS)
}

/// A temporary ban length: 1 minute to a year.
pub fn tempban_duration(text: &str) -> Result<Duration, DurationError> {
    bounded(parse_duration(text)?, MAX_TEMPBAN_DAYS)
}

/// When something that starts `now` and lasts `d` ends.
pub fn ends_at(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    now.checked_add_signed(d).unwrap_or(now)
}

/// `1d 2h 5m`: the largest units first, seconds only under a minute.
pub fn human_duration(d: Duration) -> String {
    let total = d.num_seconds().max(0);
    if total < 60 {
        return format!("{total}s");
    }
    let parts = [
        (total / 604_800, "w"),
        (total % 604_800 / 86_400, "d"),
        (total % 86_400 / 3_600, "h"),
        (total % 3_600 / 60, "m"),
    ];
    let text: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    text.join(" ")
}

impl fmt::Display for Sanction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Sanction::Kick => "kick",
            Sanction::Ban => "ban",
            Sanction::Unban => "unban",
            Sanction::Timeout => "timeout",
            Sanction::Untimeout => "untimeout",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModAction {
    Kick,
    Ban,
    Unban,
    Timeout,
    Untimeout,
}

impl ModAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ModAction::Kick => "kick",
            ModAction::Ban => "ban",
            ModAction::Unban => "unban",
            ModAction::Timeout => "timeout",
            ModAction::Untimeout => "untimeout",
        }
    }
}

impl fmt::Display for ModAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ModAction {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "kick" => Ok(ModAction::Kick),
            "ban" => Ok(ModAction::Ban),
            "unban" => Ok(ModAction::Unban),
            "timeout" => Ok(ModAction::Timeout),
            "untimeout" => Ok(ModAction::Untimeout),
            other => Err(UnknownValue::new("moderation action", other)),
        }
    }
}

/// One moderation case.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ModCase {
    pub id: i64,
    pub guild_id: GuildId,
    /// Per-server number shown to moderators (#1, #2, ...).
    pub case_number: i32,
    pub action: ModAction,
    pub target_id: UserId,
    pub moderator_id: UserId,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    /// End of a temporary ban or timeout.
    pub expires_at: Option<DateTime<Utc>>,
    /// When a temporary ban was lifted by the bot.
    pub lifted_at: Option<DateTime<Utc>>,
    /// How lifting a temporary ban went (failures, backoff, given up).
    pub lift: super::lifting::LiftState,
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: UserId = UserId(1);
    const MOD: UserId = UserId(2);
    const BOT: UserId = UserId(3);
    const ALICE: UserId = UserId(4);

    fn rank(position: u16, id: u64) -> RoleRank {
        RoleRank { position, id }
    }

    fn party(id: UserId, position: u16, permissions: u64) -> Party {
        Party {
            id,
            top_role: rank(position, 100 + u64::from(position)),
            permissions,
        }
    }

    fn situation(invoker: Party, target: Target) -> Situation {
        Situation {
            owner: OWNER,
            invoker,
            bot: party(
                BOT,
                10,
                perms::BAN_MEMBERS | perms::KICK_MEMBERS | perms::MODERATE_MEMBERS,
            ),
            target,
        }
    }

    fn moderator() -> Party {
        party(
            MOD,
            5,
            perms::BAN_MEMBERS | perms::KICK_MEMBERS | perms::MODERATE_MEMBERS,
        )
    }

    #[test]
    fn moderator_may_act_on_a_lower_member() {
        let s = situation(moderator(), Target::Member(party(ALICE, 1, 0)));
        for action in [
            Sanction::Kick,
            Sanction::Ban,
            Sanction::Timeout,
            Sanction::Untimeout,
        ] {
            assert_eq!(check(action, &s), Ok(()), "{action}");
        }
    }

    #[test]
    fn permission_is_checked_for_invoker_and_bot() {
        let plain = party(ALICE, 1, 0);
        let s = situation(plain, Target::Member(party(UserId(9), 0, 0)));
        assert_eq!(
            check(Sanction::Ban, &s),
            Err(Refusal::InvokerLacks("Ban Members"))
        );
        let admin = party(MOD, 5, perms::ADMINISTRATOR);
        let mut s = situation(admin, Target::Member(party(ALICE, 1, 0)));
        assert_eq!(check(Sanction::Kick, &s), Ok(()));
        s.bot.permissions = perms::KICK_MEMBERS;
        assert_eq!(
            check(Sanction::Timeout, &s),
            Err(Refusal::BotLacks("Timeout Members"))
        );
    }

    #[test]
    fn nobody_acts_on_self_bot_or_owner() {
        let m = moderator();
        let refusals = [
            (Target::Member(m), Refusal::SelfTarget("kick")),
            (
                Target::Member(party(BOT, 10, 0)),
                Refusal::BotTarget("kick"),
            ),
            (
                Target::Member(party(OWNER, 0, 0)),
                Refusal::OwnerTarget("kick"),
            ),
        ];
        for (target, refusal) in refusals {
            assert_eq!(check(Sanction::Kick, &situation(m, target)), Err(refusal));
        }
    }

    #[test]
    fn hierarchy_applies_to_invoker_and_bot() {
        let equal = Target::Member(party(ALICE, 5, 0));
        assert_eq!(
            check(Sanction::Ban, &situation(moderator(), equal)),
            Err(Refusal::InvokerNotAbove("ban"))
        );
        let above_bot = Target::Member(party(ALICE, 12, 0));
        let owner = party(OWNER, 0, 0);
        assert_eq!(
            check(Sanction::Ban, &situation(owner, above_bot)),
            Err(Refusal::BotNotAbove("ban"))
        );
        // The owner outranks everyone, even without roles.
        assert_eq!(
            check(
                Sanction::Ban,
                &situation(owner, Target::Member(party(ALICE, 9, 0)))
            ),
            Ok(())
        );
    }

    #[test]
    fn equal_positions_rank_older_roles_higher() {
        assert!(rank(3, 10) > rank(3, 20));
        assert!(rank(4, 99) > rank(3, 1));
    }

    #[test]
    fn absent_targets() {
        let gone = Target::Absent(ALICE);
        assert_eq!(check(Sanction::Ban, &situation(moderator(), gone)), Ok(()));
        assert_eq!(
            check(Sanction::Unban, &situation(moderator(), gone)),
            Ok(())
        );
        assert_eq!(
            check(Sanction::Kick, &situation(moderator(), gone)),
            Err(Refusal::NotAMember)
        );
    }

    #[test]
    fn administrators_cannot_be_timed_out() {
        let admin_target = Target::Member(party(ALICE, 1, perms::ADMINISTRATOR));
        assert_eq!(
            check(Sanction::Timeout, &situation(moderator(), admin_target)),
            Err(Refusal::AdministratorTimeout)
        );
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("10m"), Ok(Duration::minutes(10)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::minutes(90)));
        assert_eq!(parse_duration("2 days"), Ok(Duration::days(2)));
        assert_eq!(parse_duration("1w"), Ok(Duration::weeks(1)));
        assert_eq!(parse_duration("45"), Ok(Duration::minutes(45)));
        assert_eq!(parse_duration("90S"), Ok(Duration::seconds(90)));
        for bad in [
            "",
            "m",
            "10x",
            "soon",
            "-5m",
            "1h-2m",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bounds_timeouts_and_tempbans() {
        assert_eq!(timeout_duration("28d"), Ok(Duration::days(28)));
        assert_eq!(
            timeout_duration("29d"),
            Err(DurationError::TooLong { max: "4w".into() })
        );
        assert_eq!(
            timeout_duration("30s"),
            Err(DurationError::TooShort { min: "1m".into() })
        );
        assert!(tempban_duration("30d").is_ok());
        assert!(tempban_duration("400d").is_err());
    }

    #[test]
    fn renders_durations() {
        assert_eq!(human_duration(Duration::seconds(30)), "30s");
        assert_eq!(human_duration(Duration::minutes(90)), "1h 30m");
        assert_eq!(human_duration(Duration::days(9)), "1w 2d");
    }
}
