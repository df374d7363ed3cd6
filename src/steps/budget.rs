//! The token budget gate in front of every model call a step makes: it asks the store for
//! today's spend of the scopes a call is charged to, lets `domain::spend::check` give the
//! one `Verdict`, and records what the call cost afterwards (a cast: never on the way from
//! the model's answer to the send). The reply path gets its verdict inside
//! `domain::plan`, from the spend read with its inputs, and the first time a budget is found
//! spent says so in character; other calls (judgements, proactive posts, consolidation, the
//! status line) are simply not made.

use crate::domain::spend::usage_or_estimate;
use crate::domain::spend::{Charge, DailyBudgets, SpendScope, Verdict, check, day_of};
use crate::ports::store::BudgetStore;
use crate::ports::{CompletionRequest, LanguageModel, LlmError};
use chrono::{DateTime, Utc};
use std::sync::Arc;

pub struct BudgetGate {
    store: Arc<dyn BudgetStore>,
    budgets: DailyBudgets,
}

#[derive(Debug, thiserror::Error)]
pub enum MeteredError {
    #[error("today's {} token budget is spent", .0.kind())]
    Spent(SpendScope),
    #[error(transparent)]
    Llm(#[from] LlmError),
}

impl BudgetGate {
    pub fn new(store: Arc<dyn BudgetStore>, budgets: DailyBudgets) -> Self {
        Self { store, budgets }
    }

    /// Asks before a call (the reply reads the spend with its inputs and decides in
    /// `domain::plan`). A store that cannot answer allows the call: a database hiccup must
    /// not silence the bot, and the spend is still recorded when it is back.
    pub async fn check(&self, charge: Charge, now: DateTime<Utc>) -> Verdict {
        let scopes = charge.scopes();
        if scopes.iter().all(|s| self.budgets.limit(*s).is_none()) {
            return Verdict::Allowed;
        }
        match self.store.spend_on(day_of(now), scopes).await {
            Ok(spent) => check(&self.budgets, charge, &spent),
            Err(error) => {
                tracing::warn!(%error, "could not read today's token spend; calling the model anyway");
                Verdict::Allowed
            }
        }
    }

    /// The daily budgets the verdicts are made against.
    pub fn budgets(&self) -> &DailyBudgets {
        &self.budgets
    }

    /// Claims the one announcement of `scope`'s spent budget today: true for one caller.
    pub async fn claim_notice(&self, scope: SpendScope, now: DateTime<Utc>) -> bool {
        match self.store.claim_spend_notice(day_of(now), scope).await {
            Ok(claimed) => {
                if claimed {
                    tracing::warn!(
                        scope = scope.kind(),
                        ?scope,
                        "daily token budget spent: no model calls for it until tomorrow (UTC)"
                    );
                }
                claimed
            }
            Err(error) => {
                tracing::warn!(%error, "could not record the budget notice");
                false
            }
        }
    }

    /// Forgets usage older than a week (only today's counts; the week is for operators
    /// looking at the table). Run with the new day.
    pub async fn forget_old_days(&self, now: DateTime<Utc>) {
        let before = day_of(now - chrono::Duration::days(7));
        match self.store.purge_spend_before(before).await {
            Ok(0) => {}
            Ok(rows) => tracing::debug!(rows, "old token usage rows deleted"),
            Err(error) => tracing::warn!(%error, "could not delete old token usage rows"),
        }
    }

    /// Checks, then calls the model and records what the call cost.
    pub async fn complete(
        &self,
        llm: &dyn LanguageModel,
        charge: Charge,
        request: CompletionRequest,
    ) -> Result<String, MeteredError> {
        if let Verdict::Spent { scope, .. } = self.check(charge, Utc::now()).await {
            return Err(MeteredError::Spent(scope));
        }
        Ok(self.call(llm, charge, request).await?)
    }

    /// Calls the model (the caller already checked) and records what the call cost. The
    /// record is cast to the store's write lane, never awaited: the answer is handed back
    /// at once, so a locked database or a long commit does not hold a reply ready to send.
    pub async fn call(
        &self,
        llm: &dyn LanguageModel,
        charge: Charge,
        request: CompletionRequest,
    ) -> Result<String, LlmError> {
        let turns = request.turns.clone();
        let metered = llm.complete_metered(request).await?;
        let usage = usage_or_estimate(metered.usage, &turns, &metered.text);
        crate::telemetry::metrics::tokens_used(charge.guild, usage);
        self.store
            .record_spend(day_of(Utc::now()), charge.scopes(), usage)
            .await;
        Ok(metered.text)
    }
}
