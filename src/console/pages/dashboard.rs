//! The dashboard: is the bot connected, where is it, how busy was it in the last 24 hours,
//! what has it spent today against its budgets, how does it feel, and how did the last
//! memory run go.

use super::{Running, bot_name};
use crate::console::{chart, view};
use crate::domain::spend::{SpendScope, day_of};
use crate::domain::{MessageStamp, Mood, MoodPoint};
use axum::response::Response;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct ServerRow {
    id: u64,
    messages_24h: u64,
    tokens_today: u64,
}

pub async fn show(
    Running {
        shared,
        session,
        bot,
    }: Running,
) -> Response {
    let now = Utc::now();
    let day = day_of(now);
    let since = now - Duration::hours(24);
    let store = &bot.store;
    let servers = store.known_servers().await.unwrap_or_default();
    let mut rows = Vec::new();
    for guild in &servers {
        let messages_24h = store
            .count_messages_since(Some(*guild), since)
            .await
            .unwrap_or(0);
        let tokens_today = store
            .server_spend(day.clone(), *guild)
            .await
            .map(|(_, server)| server.tokens())
            .unwrap_or(0);
        rows.push(ServerRow {
            id: guild.0,
            messages_24h,
            tokens_today,
        });
    }
    let stamps: Vec<MessageStamp> = store.message_stamps(None, since).await.unwrap_or_default();
    let (labels, members, replies) = chart::hourly(&stamps, now);
    let hourly = chart::stacked_bars(
        "Messages per hour, last 24 hours",
        &labels,
        &members,
        &replies,
    );
    let bot_tokens = store
        .spend_on(day, vec![SpendScope::Global])
        .await
        .ok()
        .and_then(|v| v.into_iter().next())
        .map_or(0, |(_, s)| s.tokens());
    let mood = Mood {
        values: store.mood().await.unwrap_or_default(),
    };
    let mood_rows: Vec<chart::Meter> = mood
        .values
        .iter()
        .map(|(k, v)| chart::Meter {
            name: k.trim_start_matches("daily_mood_").to_owned(),
            value: *v,
            min: 0,
            max: 10,
        })
        .collect();
    let mood_chart = chart::meters("Today's mood", &mood_rows);
    let mood_30_days = chart::lines(
        "Mood over the last 30 days",
        &mood_series(
            &store
                .mood_history(today_number(now) - 29)
                .await
                .unwrap_or_default(),
        ),
        (0, 10),
        Some((now - Duration::days(29), now)),
    );
    // Model latency from the ops server's histogram (the same figures `/metrics` shows).
    let latency = bot
        .ops
        .as_ref()
        .and_then(|ops| ops.metrics.as_ref())
        .and_then(|handle| {
            crate::console::latency::bucket_quantiles(
                &handle.render(),
                crate::telemetry::metrics::MODEL_CALL_SECONDS,
                "chat",
                &[0.5, 0.95],
            )
        })
        .map(|q| q.iter().map(|s| seconds(*s)).collect::<Vec<_>>());
    let status_line = store.status_line().await.ok().flatten();
    let last_run = store.last_run().await.ok().flatten();
    let facts = store.count_facts().await.unwrap_or(0);
    let connected = *bot.ready.borrow();
    let budget = bot.settings.budget;
    shared.pages.render(
        "dashboard.html",
        &view::Frame::new(&session, "Dashboard", "dashboard"),
        minijinja::context! {
            name => bot_name(&bot, None).await,
            connected => connected,
            started_at => bot.started_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            servers => rows,
            messages_24h => members.iter().sum::<u64>(),
            replies_24h => replies.iter().sum::<u64>(),
            hourly => minijinja::Value::from_safe_string(hourly),
            bot_tokens => bot_tokens,
            bot_budget => budget.global,
            server_budget => budget.server,
            budget_percent => percent(bot_tokens, budget.global),
            mood => mood.describe(),
            mood_chart => minijinja::Value::from_safe_string(mood_chart),
            mood_30_days => minijinja::Value::from_safe_string(mood_30_days),
            latency => latency,
            status_line => status_line,
            last_run => last_run,
            facts => facts,
        },
    )
}

/// Today as `mood_day` counts days (from the common era).
fn today_number(now: DateTime<Utc>) -> i64 {
    i64::from(now.date_naive().num_days_from_ce())
}

/// One line per mood dimension, a point per rolled day.
fn mood_series(points: &[MoodPoint]) -> Vec<chart::Series> {
    let mut by_dimension: BTreeMap<&str, Vec<(DateTime<Utc>, i64)>> = BTreeMap::new();
    for p in points {
        let day = i32::try_from(p.day)
            .ok()
            .and_then(NaiveDate::from_num_days_from_ce_opt);
        if let Some(at) = day.and_then(|d| d.and_hms_opt(0, 0, 0)) {
            by_dimension
                .entry(p.dimension.as_str())
                .or_default()
                .push((at.and_utc(), p.value));
        }
    }
    by_dimension
        .into_iter()
        .enumerate()
        .map(|(colour, (name, points))| chart::Series {
            name: name.trim_start_matches("daily_mood_").to_owned(),
            colour,
            points,
        })
        .collect()
}

/// A bucket bound as people read it: `≤ 250 ms`, `≤ 2.5 s`, `> 10 s`.
fn seconds(bound: f64) -> String {
    if bound.is_infinite() {
        "above the largest bucket".to_owned()
    } else if bound < 1.0 {
        format!("≤ {:.0} ms", bound * 1000.0)
    } else {
        format!("≤ {bound} s")
    }
}

/// Share of a budget spent, 0 to 100 (0 when unlimited).
fn percent(spent: u64, budget: u64) -> u64 {
    spent
        .saturating_mul(100)
        .checked_div(budget)
        .map_or(0, |p| p.min(100))
}
