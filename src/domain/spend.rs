//! Daily token budgets: who a model call is charged to, and whether it may be made.
//!
//! Every model call is charged to the global scope and, where it belongs, to one server
//! and one member in that server (a reply and its judgements: all three; a proactive post
//! and a member's consolidation: the server; the status line: global only). A budget of 0
//! is unlimited. The decision is made from today's totals read just before the call, so
//! calls already in flight when a budget runs out can overshoot it by their own size.

use super::budget::{TokenUsage, chat_tokens, count_tokens};
use super::chat_turn::ChatTurn;
use super::ids::{GuildId, ServerMember, UserId};
use chrono::{DateTime, Utc};

/// One budget's scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SpendScope {
    Global,
    Server(GuildId),
    Member(ServerMember),
}

impl SpendScope {
    /// The kind as stored (`token_usage.scope`).
    pub fn kind(self) -> &'static str {
        match self {
            SpendScope::Global => "global",
            SpendScope::Server(_) => "server",
            SpendScope::Member(_) => "member",
        }
    }

    /// The server and the user a row is keyed by (0 where the scope has none).
    pub fn key(self) -> (GuildId, UserId) {
        match self {
            SpendScope::Global => (GuildId::DIRECT, UserId(0)),
            SpendScope::Server(guild) => (guild, UserId(0)),
            SpendScope::Member(member) => (member.guild, member.user),
        }
    }
}

/// Who a model call is charged to, besides the global scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Charge {
    pub guild: Option<GuildId>,
    pub user: Option<UserId>,
}

impl Charge {
    /// Only the global budget (the status line).
    pub fn global() -> Self {
        Self {
            guild: None,
            user: None,
        }
    }

    /// A server's work (proactive posts, consolidation); `None`: direct messages, which
    /// have no server budget.
    pub fn server(guild: Option<GuildId>) -> Self {
        Self { guild, user: None }
    }

    /// A member speaking in `guild` (`None`: a DM): their budget, the server's, global.
    pub fn member(guild: Option<GuildId>, user: UserId) -> Self {
        Self {
            guild,
            user: Some(user),
        }
    }

    /// The scopes charged, broadest first.
    pub fn scopes(self) -> Vec<SpendScope> {
        let mut scopes = vec![SpendScope::Global];
        if let Some(guild) = self.guild.and_then(GuildId::as_server) {
            scopes.push(SpendScope::Server(guild));
        }
        if let Some(user) = self.user {
            scopes.push(SpendScope::Member(ServerMember::of(self.guild, user)));
        }
        scopes
    }
}

/// One day of a member's model use in one server, as their data export shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DayUsage {
    /// The UTC date, `YYYY-MM-DD`.
    pub day: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub requests: u64,
}

/// The daily budgets in tokens (prompt plus completion); 0 = unlimited. Read straight
/// from the settings' `budget` block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub struct DailyBudgets {
    /// Every model call of the bot together.
    #[serde(rename = "global_daily_tokens")]
    pub global: u64,
    /// One server's calls: replies and judgements there, proactive posts, consolidation.
    #[serde(rename = "server_daily_tokens")]
    pub server: u64,
    /// One member's replies and judgements in one server (or in DMs).
    #[serde(rename = "member_daily_tokens")]
    pub member: u64,
}

impl DailyBudgets {
    /// The scope's budget; `None`: unlimited.
    pub fn limit(&self, scope: SpendScope) -> Option<u64> {
        let limit = match scope {
            SpendScope::Global => self.global,
            SpendScope::Server(_) => self.server,
            SpendScope::Member(_) => self.member,
        };
        (limit > 0).then_some(limit)
    }
}

/// One scope's spend today.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScopeSpend {
    pub usage: TokenUsage,
    /// Whether the bot already said the budget is spent.
    pub noticed: bool,
}

impl ScopeSpend {
    pub fn tokens(&self) -> u64 {
        spent_tokens(self.usage)
    }
}

/// What counts against a budget: everything the model read and wrote (cached prompt
/// tokens included: a budget bounds work, not a particular provider's bill).
pub fn spent_tokens(usage: TokenUsage) -> u64 {
    usage.prompt.saturating_add(usage.completion)
}

/// Whether a call may be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// `scope`'s budget is spent (the broadest one, when several are). `first_notice`:
    /// nobody was told yet (the store's claim decides who tells).
    Spent {
        scope: SpendScope,
        first_notice: bool,
    },
}

/// Checks today's spend of each charged scope against its budget. A scope missing from
/// `spent` has spent nothing.
pub fn check(
    budgets: &DailyBudgets,
    charge: Charge,
    spent: &[(SpendScope, ScopeSpend)],
) -> Verdict {
    for scope in charge.scopes() {
        let Some(limit) = budgets.limit(scope) else {
            continue;
        };
        let today = spent
            .iter()
            .find(|(s, _)| *s == scope)
            .map(|(_, spend)| *spend)
            .unwrap_or_default();
        if today.tokens() >= limit {
            return Verdict::Spent {
                scope,
                first_notice: !today.noticed,
            };
        }
    }
    Verdict::Allowed
}

/// The usage the server reported, or (when it reported none) an estimate from the texts.
pub fn usage_or_estimate(
    reported: Option<TokenUsage>,
    turns: &[ChatTurn],
    answer: &str,
) -> TokenUsage {
    reported.unwrap_or_else(|| TokenUsage {
        prompt: chat_tokens(turns) as u64,
        completion: count_tokens(answer) as u64,
        cached: 0,
        requests: 1,
    })
}

/// The day a spend counts for: the UTC calendar date, as stored (`2026-11-29`).
pub fn day_of(now: DateTime<Utc>) -> String {
    now.date_naive().format("%Y-%m-%d").to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const GUILD: GuildId = GuildId(2000);
    const ALICE: UserId = UserId(3001);

    /// A scope's spend of `tokens` in one request (also the plan tests' fixture).
    pub(crate) fn spend(tokens: u64, noticed: bool) -> ScopeSpend {
        ScopeSpend {
            usage: TokenUsage {
                prompt: tokens,
                completion: 0,
                cached: 0,
                requests: 1,
            },
            noticed,
        }
    }

    fn budgets() -> DailyBudgets {
        DailyBudgets {
            global: 1_000,
            server: 500,
            member: 100,
        }
    }

    #[test]
    fn a_member_call_is_charged_to_member_server_and_global() {
        let scopes = Charge::member(Some(GUILD), ALICE).scopes();
        assert_eq!(
            scopes,
            vec![
                SpendScope::Global,
                SpendScope::Server(GUILD),
                SpendScope::Member(ServerMember::new(GUILD, ALICE)),
            ]
        );
        // A DM has no server budget; the member's DM scope is the direct-messages one.
        assert_eq!(
            Charge::member(None, ALICE).scopes(),
            vec![
                SpendScope::Global,
                SpendScope::Member(ServerMember::new(GuildId::DIRECT, ALICE)),
            ]
        );
        assert_eq!(Charge::global().scopes(), vec![SpendScope::Global]);
        assert_eq!(
            Charge::server(Some(GUILD)).scopes(),
            vec![SpendScope::Global, SpendScope::Server(GUILD)]
        );
    }

    #[test]
    fn nothing_spent_is_allowed_and_a_spent_scope_is_refused() {
        let charge = Charge::member(Some(GUILD), ALICE);
        assert_eq!(check(&budgets(), charge, &[]), Verdict::Allowed);
        let member = SpendScope::Member(ServerMember::new(GUILD, ALICE));
        assert_eq!(
            check(&budgets(), charge, &[(member, spend(99, false))]),
            Verdict::Allowed
        );
        assert_eq!(
            check(&budgets(), charge, &[(member, spend(100, false))]),
            Verdict::Spent {
                scope: member,
                first_notice: true
            }
        );
        assert_eq!(
            check(&budgets(), charge, &[(member, spend(150, true))]),
            Verdict::Spent {
                scope: member,
                first_notice: false
            }
        );
    }

    #[test]
    fn the_broadest_spent_scope_is_named() {
        let charge = Charge::member(Some(GUILD), ALICE);
        let member = SpendScope::Member(ServerMember::new(GUILD, ALICE));
        let spent = [
            (member, spend(100, false)),
            (SpendScope::Server(GUILD), spend(600, false)),
        ];
        assert_eq!(
            check(&budgets(), charge, &spent),
            Verdict::Spent {
                scope: SpendScope::Server(GUILD),
                first_notice: true
            }
        );
        // A server's spent budget does not stop a call charged only globally.
        assert_eq!(
            check(&budgets(), Charge::global(), &spent),
            Verdict::Allowed
        );
    }

    #[test]
    fn zero_is_unlimited() {
        let unlimited = DailyBudgets::default();
        let charge = Charge::member(Some(GUILD), ALICE);
        let spent = [(SpendScope::Global, spend(u64::MAX, false))];
        assert_eq!(check(&unlimited, charge, &spent), Verdict::Allowed);
    }

    #[test]
    fn usage_is_estimated_when_the_server_reports_none() {
        let turns = vec![ChatTurn::user("hello there")];
        let estimated = usage_or_estimate(None, &turns, "hi");
        assert!(estimated.prompt > 0 && estimated.completion > 0);
        let reported = TokenUsage {
            prompt: 7,
            completion: 3,
            cached: 0,
            requests: 1,
        };
        assert_eq!(usage_or_estimate(Some(reported), &turns, "hi"), reported);
        assert_eq!(spent_tokens(reported), 10);
    }

    #[test]
    fn the_day_is_the_utc_date() {
        let at = DateTime::parse_from_rfc3339("2026-11-29T23:59:59+00:00")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(day_of(at), "2026-11-29");
    }
}
