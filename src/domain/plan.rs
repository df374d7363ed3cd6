//! What the bot does about one message, decided in two pure steps so that every rule of
//! "answer, say a notice, or stay quiet" is read top-down in one file and tested without an
//! actor, a database or Discord:
//!
//! - [`admit`], in the channel's mailbox: is the message for the bot, and may a reply job
//!   be queued now (the model's health, the rate limits)?
//! - [`plan`], in the reply job once its inputs are read: today's budgets, the model's
//!   health, what this channel was already told, and the prompt give one [`Plan`].
//!
//! The reply step only carries a plan out; what it said comes back to the actor as facts
//! (who was answered, which notice was said), never as a decision to take again.

use super::backlog::{should_apologise, worth_queueing};
use super::breaker::ModelHealth;
use super::chat_turn::ChatTurn;
use super::ids::UserId;
use super::spend::{Charge, DailyBudgets, ScopeSpend, SpendScope, Verdict, check};
use super::trigger::{LastAnswer, TriggerDecision, TriggerReason};
use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// Why the bot answers: sure, or only if a quick judgement says it was addressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addressed {
    Surely(TriggerReason),
    Maybe,
}

/// What the channel does with a message it logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Not for the bot, or not worth a job now (the model refuses and the channel knows).
    Ignore,
    /// Queue an answer.
    Answer(Addressed),
    /// Over the rate limit, and not told yet: queue the rate-limit line.
    TellLimited,
    /// Over the rate limit, already told: stay quiet.
    Quiet,
}

/// What [`admit`] decides from, besides the rate limiter.
#[derive(Clone, Copy, Debug)]
pub struct Arrival {
    /// The trigger rules' decision (`trigger::decide`, whose input carries the clock).
    pub trigger: TriggerDecision,
    /// Whether an ambiguous message is judged by the model (else ignored).
    pub judge_ambiguous: bool,
    pub model: ModelHealth,
    /// The model's `recoveries` count when this channel last said its trouble line.
    pub told_trouble: Option<u64>,
    /// Whether members over the rate limit are told so (once).
    pub rate_notice: bool,
    /// This member was already told they hit the rate limit.
    pub told_limited: bool,
}

/// Admits a message. `within_rate` takes one reply from the member's and the channel's
/// budgets; it is asked last, so a message that gets no job costs none.
pub fn admit(arrival: &Arrival, within_rate: impl FnOnce() -> bool) -> Admission {
    let reason = match arrival.trigger {
        TriggerDecision::Reply(reason) => Addressed::Surely(reason),
        TriggerDecision::Ambiguous if arrival.judge_ambiguous => Addressed::Maybe,
        TriggerDecision::Ambiguous | TriggerDecision::Ignore(_) => return Admission::Ignore,
    };
    if !worth_queueing(arrival.model, arrival.told_trouble) {
        return Admission::Ignore;
    }
    if within_rate() {
        Admission::Answer(reason)
    } else if arrival.rate_notice && !arrival.told_limited {
        Admission::TellLimited
    } else {
        Admission::Quiet
    }
}

/// What a channel remembers of what the bot said there, for admitting the next message:
/// the facts [`admit`] and the trigger rules decide from, updated from what each message
/// and each finished job reports.
#[derive(Clone, Debug, Default)]
pub struct ChannelMemory {
    /// The bot's last answer here: to whom and when (Discord's time).
    last_answer: Option<(UserId, DateTime<Utc>)>,
    /// Whether the newest message here is the bot's.
    bot_spoke_last: bool,
    /// Members told they hit the rate limit (told once until they pass again).
    told_limited: HashSet<UserId>,
    /// The model's `recoveries` count when the trouble line was last said here.
    told_trouble: Option<u64>,
}

impl ChannelMemory {
    /// A message arrived (`from_bot`: the bot's own): the bot's last answer as the trigger
    /// rules see it before this message.
    pub fn heard(&mut self, from_bot: bool) -> Option<LastAnswer> {
        let is_latest_message = std::mem::replace(&mut self.bot_spoke_last, from_bot);
        self.last_answer.map(|(to, at)| LastAnswer {
            to,
            at,
            is_latest_message,
        })
    }

    /// Whether `user` was told they hit the rate limit (and has not passed since).
    pub fn told_limited(&self, user: UserId) -> bool {
        self.told_limited.contains(&user)
    }

    /// Remembers what admitting `user`'s message decided.
    pub fn admitted(&mut self, user: UserId, admission: Admission) {
        match admission {
            Admission::Answer(_) => {
                self.told_limited.remove(&user);
            }
            Admission::TellLimited => {
                self.told_limited.insert(user);
            }
            Admission::Ignore | Admission::Quiet => {}
        }
    }

    /// A reply job finished: whom it answered and when, and the notice it said.
    pub fn said(&mut self, answered: Option<(UserId, DateTime<Utc>)>, notice: Option<Notice>) {
        if let Some(Notice::Trouble { outage }) = notice {
            self.told_trouble = Some(outage);
        }
        if answered.is_some() {
            self.last_answer = answered;
            self.bot_spoke_last = true;
        }
    }

    pub fn told_trouble(&self) -> Option<u64> {
        self.told_trouble
    }

    pub fn bot_spoke_last(&self) -> bool {
        self.bot_spoke_last
    }
}

/// One reply job's course.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// Say nothing.
    Skip,
    /// Say one fixed line instead of an answer (no model call).
    Notice(Notice),
    /// Ask the model with these turns, charged to `charge`, and send its answer.
    Answer {
        turns: Vec<ChatTurn>,
        charge: Charge,
    },
}

/// The lines the bot says instead of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// The member is over the reply rate limit (`bot.rate_limited_line`).
    RateLimited,
    /// `scope`'s daily token budget is spent and nobody was told today (the store's claim
    /// decides, among racing replies, who says it).
    BudgetSpent(SpendScope),
    /// The model cannot answer (`bot.failure_line`); said once per outage, the outage
    /// being named by the model's `recoveries` count.
    Trouble { outage: u64 },
}

/// What a reply job knows once its inputs are read.
#[derive(Clone, Copy, Debug)]
pub struct ReplyCase<'a> {
    pub charge: Charge,
    pub budgets: &'a DailyBudgets,
    /// Today's spend of the charged scopes (read with the reply's inputs).
    pub spent: &'a [(SpendScope, ScopeSpend)],
    /// The model's health now.
    pub model: ModelHealth,
    pub told_trouble: Option<u64>,
    /// Whether failures get the trouble line (`bot.on_llm_failure: line`) or silence.
    pub trouble_line: bool,
}

/// Plans a reply: a spent budget first (no model call; the first refusal of the day says
/// so), then a model that refuses calls (its trouble line instead of a call that would
/// fail fast), then the prompt: `render` builds the turns, `None` when they cannot be
/// built (a broken template), which is a failure like the model's.
pub fn plan(case: &ReplyCase<'_>, render: impl FnOnce() -> Option<Vec<ChatTurn>>) -> Plan {
    match check(case.budgets, case.charge, case.spent) {
        Verdict::Spent {
            scope,
            first_notice: true,
        } => return Plan::Notice(Notice::BudgetSpent(scope)),
        Verdict::Spent { .. } => return Plan::Skip,
        Verdict::Allowed => {}
    }
    if case.model.refusing {
        return failed(case, case.model);
    }
    match render() {
        Some(turns) => Plan::Answer {
            turns,
            charge: case.charge,
        },
        None => failed(case, case.model),
    }
}

/// After the answer could not be written (the model failed, the store could not be read):
/// the trouble line, unless the settings say silence or this channel already heard it in
/// this outage. `model` is the health after the failure.
pub fn failed(case: &ReplyCase<'_>, model: ModelHealth) -> Plan {
    if case.trouble_line && should_apologise(model, case.told_trouble) {
        Plan::Notice(Notice::Trouble {
            outage: model.recoveries,
        })
    } else {
        Plan::Skip
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{ChannelId, GuildId, MessageId, ServerMember, UserId};
    use crate::domain::spend::tests::spend;
    use crate::domain::trigger::{self, IgnoreReason, LastAnswer, TriggerInput};
    use crate::domain::{IncomingMessage, LoggedMessage};
    use chrono::{DateTime, Duration, TimeZone, Utc};

    const GUILD: GuildId = GuildId(2000);
    const OTHER_GUILD: GuildId = GuildId(2001);
    const ALICE: UserId = UserId(3000);
    const BOT: UserId = UserId(1000);

    fn healthy() -> ModelHealth {
        ModelHealth {
            refusing: false,
            failures: 0,
            in_outage: false,
            recoveries: 2,
        }
    }

    fn down() -> ModelHealth {
        ModelHealth {
            refusing: true,
            failures: 3,
            in_outage: true,
            recoveries: 2,
        }
    }

    fn budgets() -> DailyBudgets {
        DailyBudgets {
            global: 0,
            server: 0,
            member: 100,
        }
    }

    fn alice_in(guild: GuildId) -> SpendScope {
        SpendScope::Member(ServerMember::new(guild, ALICE))
    }

    fn case<'a>(
        guild: GuildId,
        budgets: &'a DailyBudgets,
        spent: &'a [(SpendScope, ScopeSpend)],
        model: ModelHealth,
    ) -> ReplyCase<'a> {
        ReplyCase {
            charge: Charge::member(Some(guild), ALICE),
            budgets,
            spent,
            model,
            told_trouble: None,
            trouble_line: true,
        }
    }

    fn turns() -> Option<Vec<ChatTurn>> {
        Some(vec![ChatTurn::system("persona"), ChatTurn::user("hi")])
    }

    #[test]
    fn a_reply_within_budget_to_a_healthy_model_is_answered_with_its_turns() {
        let b = budgets();
        let spent = [(alice_in(GUILD), spend(99, false))];
        assert_eq!(
            plan(&case(GUILD, &b, &spent, healthy()), turns),
            Plan::Answer {
                turns: turns().unwrap_or_default(),
                charge: Charge::member(Some(GUILD), ALICE),
            }
        );
    }

    #[test]
    fn a_spent_budget_is_said_once_and_never_calls_the_model() {
        let b = budgets();
        let never = || -> Option<Vec<ChatTurn>> { panic!("no prompt for a spent budget") };
        let fresh = [(alice_in(GUILD), spend(100, false))];
        assert_eq!(
            plan(&case(GUILD, &b, &fresh, healthy()), never),
            Plan::Notice(Notice::BudgetSpent(alice_in(GUILD)))
        );
        let told = [(alice_in(GUILD), spend(150, true))];
        assert_eq!(plan(&case(GUILD, &b, &told, healthy()), never), Plan::Skip);
        // Even with the model down, the budget is what the member hears about.
        assert_eq!(
            plan(&case(GUILD, &b, &fresh, down()), never),
            Plan::Notice(Notice::BudgetSpent(alice_in(GUILD)))
        );
    }

    #[test]
    fn the_member_budget_is_per_server() {
        let b = budgets();
        // Alice spent her budget in the first server; in the other she is answered.
        let spent = [(alice_in(GUILD), spend(500, true))];
        assert!(matches!(
            plan(&case(OTHER_GUILD, &b, &spent, healthy()), turns),
            Plan::Answer { .. }
        ));
        assert_eq!(plan(&case(GUILD, &b, &spent, healthy()), turns), Plan::Skip);
    }

    #[test]
    fn a_refusing_model_gets_the_trouble_line_once_per_outage() {
        let b = budgets();
        let never = || -> Option<Vec<ChatTurn>> { panic!("no prompt while the model refuses") };
        let mut c = case(GUILD, &b, &[], down());
        assert_eq!(plan(&c, never), Plan::Notice(Notice::Trouble { outage: 2 }));
        c.told_trouble = Some(2);
        assert_eq!(plan(&c, never), Plan::Skip);
        c.told_trouble = Some(1);
        assert_eq!(
            plan(&c, never),
            Plan::Notice(Notice::Trouble { outage: 2 }),
            "told in an earlier outage"
        );
        c.trouble_line = false;
        assert_eq!(plan(&c, never), Plan::Skip, "settings say silence");
    }

    #[test]
    fn a_prompt_that_cannot_be_built_is_a_failure() {
        let b = budgets();
        let c = case(GUILD, &b, &[], healthy());
        assert_eq!(
            plan(&c, || None),
            Plan::Notice(Notice::Trouble { outage: 2 })
        );
    }

    #[test]
    fn a_failed_answer_is_apologised_for_by_its_health_after_the_failure() {
        let b = budgets();
        let mut c = case(GUILD, &b, &[], healthy());
        let sporadic = ModelHealth {
            failures: 1,
            ..healthy()
        };
        assert_eq!(
            failed(&c, sporadic),
            Plan::Notice(Notice::Trouble { outage: 2 })
        );
        c.told_trouble = Some(2);
        assert_eq!(failed(&c, sporadic), Plan::Skip, "already said");
        // An unusable answer (the model is fine) always gets the line.
        assert_eq!(
            failed(&c, healthy()),
            Plan::Notice(Notice::Trouble { outage: 2 })
        );
    }

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, h, m, s)
            .single()
            .unwrap_or_default()
    }

    /// The trigger with an injected clock: a follow-up from Alice `secs` after the bot
    /// answered her, within a two-minute window.
    fn follow_up(secs: i64) -> TriggerDecision {
        let answered = at(12, 0, 0);
        let message = IncomingMessage {
            message: LoggedMessage {
                id: MessageId(5000),
                channel_id: ChannelId(4000),
                guild_id: Some(GUILD),
                author_id: ALICE,
                author_name: "alice".to_owned(),
                is_bot: false,
                content: "and then what happened".to_owned(),
                reply_to: None,
                created_at: answered + Duration::seconds(secs),
            },
            mentions: Vec::new(),
            mentions_everyone: false,
            replied_to_author: None,
            author_username: "alice".to_owned(),
            author_display: None,
        };
        trigger::decide(&TriggerInput {
            bot_id: BOT,
            bot_name: "Aria",
            aliases: &[],
            message: &message,
            reply_to_bots: false,
            last_answer: Some(LastAnswer {
                to: ALICE,
                at: answered,
                is_latest_message: true,
            }),
            follow_up_window: Duration::minutes(2),
            now: message.message.created_at,
        })
    }

    fn arrival(trigger: TriggerDecision) -> Arrival {
        Arrival {
            trigger,
            judge_ambiguous: true,
            model: healthy(),
            told_trouble: None,
            rate_notice: true,
            told_limited: false,
        }
    }

    #[test]
    fn a_follow_up_is_admitted_within_its_window_only() {
        assert_eq!(
            admit(&arrival(follow_up(30)), || true),
            Admission::Answer(Addressed::Surely(TriggerReason::FollowUp))
        );
        assert_eq!(
            admit(&arrival(follow_up(121)), || panic!("no budget taken")),
            Admission::Ignore
        );
    }

    #[test]
    fn ambiguous_messages_are_judged_only_when_enabled() {
        assert_eq!(
            admit(&arrival(TriggerDecision::Ambiguous), || true),
            Admission::Answer(Addressed::Maybe)
        );
        let off = Arrival {
            judge_ambiguous: false,
            ..arrival(TriggerDecision::Ambiguous)
        };
        assert_eq!(admit(&off, || panic!("no budget taken")), Admission::Ignore);
        let ignored = arrival(TriggerDecision::Ignore(IgnoreReason::NotAddressed));
        assert_eq!(
            admit(&ignored, || panic!("no budget taken")),
            Admission::Ignore
        );
    }

    #[test]
    fn over_the_rate_limit_a_member_is_told_once() {
        let mentioned = TriggerDecision::Reply(TriggerReason::Mentioned);
        assert_eq!(admit(&arrival(mentioned), || false), Admission::TellLimited);
        let told = Arrival {
            told_limited: true,
            ..arrival(mentioned)
        };
        assert_eq!(admit(&told, || false), Admission::Quiet);
        let no_notice = Arrival {
            rate_notice: false,
            ..arrival(mentioned)
        };
        assert_eq!(admit(&no_notice, || false), Admission::Quiet);
    }

    #[test]
    fn the_channel_remembers_what_it_was_told_and_who_it_answered() {
        let mut memory = ChannelMemory::default();
        assert_eq!(memory.heard(false), None, "the bot has not spoken here");
        let mentioned = Admission::Answer(Addressed::Surely(TriggerReason::Mentioned));
        memory.admitted(ALICE, Admission::TellLimited);
        assert!(memory.told_limited(ALICE));
        memory.admitted(ALICE, Admission::Quiet);
        assert!(memory.told_limited(ALICE), "told until she passes again");
        memory.admitted(ALICE, mentioned);
        assert!(!memory.told_limited(ALICE));

        let at = at(12, 0, 0);
        memory.said(Some((ALICE, at)), None);
        assert!(memory.bot_spoke_last());
        assert_eq!(
            memory.heard(false),
            Some(LastAnswer {
                to: ALICE,
                at,
                is_latest_message: true
            })
        );
        assert_eq!(
            memory.heard(false).map(|last| last.is_latest_message),
            Some(false),
            "someone spoke after the bot"
        );
        assert_eq!(memory.told_trouble(), None);
        memory.said(None, Some(Notice::Trouble { outage: 4 }));
        assert_eq!(memory.told_trouble(), Some(4));
        memory.said(None, Some(Notice::RateLimited));
        assert_eq!(
            memory.told_trouble(),
            Some(4),
            "only the trouble line counts"
        );
        assert!(
            !memory.bot_spoke_last(),
            "nothing sent: the newest message is not the bot's"
        );
    }

    #[test]
    fn nothing_is_queued_behind_a_refusing_model_once_the_channel_was_told() {
        let mentioned = TriggerDecision::Reply(TriggerReason::Mentioned);
        let told = Arrival {
            model: down(),
            told_trouble: Some(2),
            ..arrival(mentioned)
        };
        assert_eq!(
            admit(&told, || panic!("no budget taken")),
            Admission::Ignore
        );
        let not_told = Arrival {
            model: down(),
            ..arrival(mentioned)
        };
        assert_eq!(
            admit(&not_told, || true),
            Admission::Answer(Addressed::Surely(TriggerReason::Mentioned)),
            "the job will say the trouble line"
        );
    }
}
