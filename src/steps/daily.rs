//! The bot's day: a new mood after consolidation, and a status line generated from the
//! persona and that mood. The mood changes at most once per calendar day, so a rerun of
//! the nightly job does not roll the dice twice.
//!
//! With several processes on one database the day is made once for the whole bot: the
//! process that takes the `new_day` lease rolls the mood (the store's day marker refuses a
//! second roll even so) and generates the status; the others wait for it and show the
//! stored status on their own shards.

use super::budget::BudgetGate;
use super::leases::Leases;
use crate::config::{MoodRuleKind, Settings};
use crate::domain::mood::{MOOD_DAY_KEY, Mood, MoodRule, STATUS_DAY_KEY, next_day};
use crate::domain::spend::Charge;
use crate::ports::store::{DailyStore, StoreError};
use crate::ports::{ChatPort, CompletionRequest, LanguageModel};
use crate::prompts;
use chrono::{DateTime, Datelike, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::sync::{Arc, Mutex};

pub struct DailyDeps {
    pub store: Arc<dyn DailyStore>,
    pub llm: Arc<dyn LanguageModel>,
    pub chat: Arc<dyn ChatPort>,
    pub settings: Arc<Settings>,
    pub rng: Mutex<StdRng>,
    /// The status line is charged to the global budget.
    pub budget: Arc<BudgetGate>,
    /// The `new_day` lease: one process makes the day.
    pub leases: Leases,
}

/// The lease whose holder makes the day (mood and status) for every process.
pub const NEW_DAY_LEASE: &str = "new_day";
/// How long a process waits for another one making the day before showing what is stored.
const WAIT_FOR_OTHER: std::time::Duration = std::time::Duration::from_secs(120);

impl DailyDeps {
    pub fn rng_from(settings: &Settings) -> Mutex<StdRng> {
        Mutex::new(match settings.mood.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DailyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("status generation failed: {0}")]
    Status(String),
}

/// Rolls today's mood unless it was already rolled today. Returns the mood in force.
pub async fn roll_mood(deps: &DailyDeps, now: DateTime<Utc>) -> Result<Mood, DailyError> {
    let today = day_number(now);
    let store = &deps.store;
    let current = Mood {
        values: store.mood().await?,
    };
    if store.state_value(MOOD_DAY_KEY.to_owned()).await? == Some(today) {
        return Ok(current);
    }
    let rule = match deps.settings.mood.rule {
        MoodRuleKind::RandomWalk => MoodRule::RandomWalk {
            max_step: deps.settings.mood.max_step,
        },
        MoodRuleKind::Reroll => MoodRule::Reroll,
    };
    let next = {
        let mut rng = deps
            .rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        next_day(&current, rule, &mut *rng)
    };
    // One transaction: a crash between the values and the day marker would roll the
    // dice a second time on the rerun. Another process that rolled first wins.
    let values = next.values.iter().map(|(k, v)| (k.clone(), *v)).collect();
    if !store.roll_mood(values, today, now).await? {
        return Ok(Mood {
            values: store.mood().await?,
        });
    }
    tracing::info!(mood = %next.describe(), "new mood for the day");
    Ok(next)
}

fn day_number(now: DateTime<Utc>) -> i64 {
    i64::from(now.date_naive().num_days_from_ce())
}

/// Whether the day's mood and status are both made (by any process).
async fn day_is_made(deps: &DailyDeps, today: i64) -> Result<bool, DailyError> {
    let store = &deps.store;
    Ok(
        store.state_value(MOOD_DAY_KEY.to_owned()).await? == Some(today)
            && store.state_value(STATUS_DAY_KEY.to_owned()).await? == Some(today),
    )
}

/// The new day for the whole bot: under the `new_day` lease, rolls the mood and generates
/// the status unless the day is made already; without it (another process is making the
/// day), waits for that and shows the stored status. Returns the status in force.
pub async fn new_day(deps: &DailyDeps, now: DateTime<Utc>) -> Result<String, DailyError> {
    let today = day_number(now);
    let started = tokio::time::Instant::now();
    loop {
        if day_is_made(deps, today).await? {
            apply_stored_status(deps).await;
            return Ok(deps.store.status_line().await?.unwrap_or_default());
        }
        if let Some(lease) = deps.leases.try_hold(NEW_DAY_LEASE).await? {
            let made = make_day(deps, now).await;
            lease.release().await;
            return made;
        }
        if started.elapsed() >= WAIT_FOR_OTHER {
            tracing::warn!("another process is still making the day; showing the stored status");
            apply_stored_status(deps).await;
            return Ok(deps.store.status_line().await?.unwrap_or_default());
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// Rolls the mood (once a day) and generates the day's status unless it exists.
async fn make_day(deps: &DailyDeps, now: DateTime<Utc>) -> Result<String, DailyError> {
    roll_mood(deps, now).await?;
    deps.budget.forget_old_days(now).await;
    if deps.store.state_value(STATUS_DAY_KEY.to_owned()).await? == Some(day_number(now)) {
        apply_stored_status(deps).await;
        return Ok(deps.store.status_line().await?.unwrap_or_default());
    }
    refresh_status(deps, now).await
}

/// Generates a status from persona and mood, stores it and shows it. On failure the old
/// status stays (and is shown again).
pub async fn refresh_status(deps: &DailyDeps, now: DateTime<Utc>) -> Result<String, DailyError> {
    let store = &deps.store;
    // The status line is one for the whole bot: the base persona speaks it.
    let persona = store.persona(None).await?;
    let mood = Mood {
        values: store.mood().await?,
    };
    let turns = prompts::status(
        persona.name_or(&deps.settings.bot.name),
        &persona,
        &mood.describe(),
        now.date_naive(),
    );
    let request = CompletionRequest::chat(turns)
        .with_max_tokens(60)
        .in_background()
        .spoken_by(persona.name_or(&deps.settings.bot.name), 300);
    let generated = deps
        .budget
        .complete(deps.llm.as_ref(), Charge::global(), request)
        .await
        .map(|raw| prompts::trim_status(&raw))
        .map_err(|e| e.to_string())
        .and_then(|s| {
            if s.is_empty() {
                Err("the model returned an empty status".to_owned())
            } else {
                Ok(s)
            }
        });
    match generated {
        Ok(status) => {
            store
                .set_status_line(status.clone(), Some(day_number(now)), now)
                .await?;
            if let Err(error) = deps.chat.set_status(&status).await {
                tracing::warn!(%error, "could not show the new status");
            }
            Ok(status)
        }
        Err(reason) => {
            apply_stored_status(deps).await;
            Err(DailyError::Status(reason))
        }
    }
}

/// Makes sure today has a mood and the bot has a status line, without a model call: run
/// at start-up, so a fresh install has both before its first nightly run and a bot that
/// was down over night rolls the day it missed. A missing status gets an in-character
/// starter line until the nightly run generates one.
pub async fn ensure_today(deps: &DailyDeps, now: DateTime<Utc>) -> Result<(), DailyError> {
    roll_mood(deps, now).await?;
    if deps.store.status_line().await?.is_none() {
        let line = {
            let mut rng = deps
                .rng
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            prompts::starter_status(&mut *rng)
        };
        deps.store.set_status_line(line.clone(), None, now).await?;
        if let Err(error) = deps.chat.set_status(&line).await {
            tracing::debug!(%error, "could not show the starter status yet");
        }
    }
    Ok(())
}

/// Shows the stored status (after a reconnect, or when a new one could not be made).
pub async fn apply_stored_status(deps: &DailyDeps) {
    match deps.store.status_line().await {
        Ok(Some(status)) => {
            if let Err(error) = deps.chat.set_status(&status).await {
                tracing::debug!(%error, "could not show the stored status yet");
            }
        }
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "could not read the stored status"),
    }
}
