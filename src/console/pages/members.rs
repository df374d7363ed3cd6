//! Members and their memories, one server at a time: search, facts (category, first and
//! last mentioned, reference count, superseded history) with edit, delete and add through
//! the `/admin memory` requests, relationship metrics with their event log, and a member's
//! export and erasure through the `/memory export` and `/memory forget-all` code path.

use super::{Page, Running, back};
use crate::console::{chart, view};
use crate::domain::{GuildId, Metric, Relationship, RelationshipEvent, ServerMember, UserId};
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::IntoResponse;
use chrono::Utc;
use serde::Deserialize;

/// Relationship events shown per member.
const EVENTS_SHOWN: u64 = 50;

#[derive(Deserialize, Default)]
pub struct Search {
    #[serde(default)]
    q: String,
}

pub async fn list(
    Running {
        shared,
        session,
        bot,
    }: Running,
    Path(guild): Path<u64>,
    Query(search): Query<Search>,
) -> Page {
    let guild = GuildId(guild);
    let members = bot.store.server_members(guild, search.q.clone()).await?;
    let servers = bot.store.known_servers().await.unwrap_or_default();
    Ok(shared.pages.render(
        "members.html",
        &view::Frame::new(&session, "Members", "members"),
        minijinja::context! { guild => guild, servers => servers, members => members, q => search.q },
    ))
}

/// `/members`: the first server's members, or the list of servers when there are several.
pub async fn index(
    Running {
        shared,
        session,
        bot,
    }: Running,
) -> Page {
    let servers = bot.store.known_servers().await.unwrap_or_default();
    if let [only] = servers.as_slice() {
        return Ok(back(&format!("/servers/{only}/members")));
    }
    Ok(shared.pages.render(
        "members.html",
        &view::Frame::new(&session, "Members", "members"),
        minijinja::context! { guild => None::<u64>, servers => servers, members => Vec::<u8>::new(), q => "" },
    ))
}

fn member_page(guild: u64, user: u64) -> String {
    format!("/servers/{guild}/members/{user}")
}

pub async fn show(
    Running {
        shared,
        session,
        bot,
    }: Running,
    Path((guild, user)): Path<(u64, u64)>,
) -> Page {
    let member = ServerMember::new(GuildId(guild), UserId(user));
    let facts = bot.store.facts_of_member(member, true).await?;
    let (current, superseded): (Vec<_>, Vec<_>) =
        facts.into_iter().partition(|f| f.superseded_by.is_none());
    let names = bot.store.known_names(member).await.unwrap_or_default();
    let relationship = bot.store.relationship(member).await.unwrap_or_default();
    let events = bot
        .store
        .relationship_events(member, EVENTS_SHOWN)
        .await
        .unwrap_or_default();
    let metrics: Vec<chart::Meter> = Metric::ALL
        .iter()
        .map(|m| {
            let (min, max) = m.range();
            chart::Meter {
                name: m.name().to_owned(),
                value: i64::from(relationship.get(*m)),
                min: i64::from(min),
                max: i64::from(max),
            }
        })
        .collect();
    let meters = chart::meters("Relationship metrics", &metrics);
    let history = chart::lines(
        "Relationship metrics over time",
        &metric_history(&events, &relationship),
        (-5, 10),
        None,
    );
    let remembers = bot.store.remembers(member).await.unwrap_or(true);
    Ok(shared.pages.render(
        "member.html",
        &view::Frame::new(&session, "Member", "members"),
        minijinja::context! {
            guild => guild,
            user => user,
            names => names,
            facts => current,
            superseded => superseded,
            metrics => minijinja::Value::from_safe_string(meters),
            history => minijinja::Value::from_safe_string(history),
            events => events,
            remembers => remembers,
        },
    ))
}

/// Each metric's value after every logged change (oldest first), ending at its value now.
fn metric_history(events: &[RelationshipEvent], now: &Relationship) -> Vec<chart::Series> {
    let mut ordered: Vec<&RelationshipEvent> = events.iter().collect();
    ordered.sort_by_key(|e| (e.created_at, e.id));
    Metric::ALL
        .iter()
        .enumerate()
        .filter_map(|(colour, m)| {
            let changes: Vec<&&RelationshipEvent> =
                ordered.iter().filter(|e| e.change.metric == *m).collect();
            let first = changes.first()?;
            let mut points = vec![(first.created_at, i64::from(first.change.old_value))];
            points.extend(
                changes
                    .iter()
                    .map(|e| (e.created_at, i64::from(e.change.new_value))),
            );
            points.push((Utc::now(), i64::from(now.get(*m))));
            Some(chart::Series {
                name: m.name().to_owned(),
                colour,
                points,
            })
        })
        .collect()
}

#[derive(Deserialize)]
pub struct FactForm {
    #[serde(default)]
    fact: String,
    #[serde(default)]
    category: String,
}

pub async fn add_fact(
    Running { bot, .. }: Running,
    Path((guild, user)): Path<(u64, u64)>,
    Form(form): Form<FactForm>,
) -> Page {
    let member = ServerMember::new(GuildId(guild), UserId(user));
    let category = match form.category.trim() {
        "" => "general".to_owned(),
        c => c.to_owned(),
    };
    bot.store.add_fact(member, form.fact, category).await?;
    Ok(back(&member_page(guild, user)))
}

pub async fn edit_fact(
    Running { bot, .. }: Running,
    Path((guild, user, id)): Path<(u64, u64, i64)>,
    Form(form): Form<FactForm>,
) -> Page {
    let member = ServerMember::new(GuildId(guild), UserId(user));
    let category = Some(form.category.trim().to_owned()).filter(|c| !c.is_empty());
    bot.store.edit_fact(member, id, form.fact, category).await?;
    Ok(back(&member_page(guild, user)))
}

pub async fn delete_fact(
    Running { bot, .. }: Running,
    Path((guild, user, id)): Path<(u64, u64, i64)>,
) -> Page {
    let member = ServerMember::new(GuildId(guild), UserId(user));
    bot.store.delete_fact(member, id).await?;
    Ok(back(&member_page(guild, user)))
}

/// The member's data export, as `/memory export` makes it (every server).
pub async fn export(Running { bot, .. }: Running, Path((_guild, user)): Path<(u64, u64)>) -> Page {
    let data = bot.store.export_user(UserId(user)).await?;
    let json = serde_json::to_vec_pretty(&data).unwrap_or_default();
    let named = format!("attachment; filename=\"personabot-export-{user}.json\"");
    let headers = [
        (CONTENT_TYPE, "application/json".to_owned()),
        (CONTENT_DISPOSITION, named),
    ];
    Ok((headers, json).into_response())
}

#[derive(Deserialize)]
pub struct EraseForm {
    #[serde(default)]
    confirm: String,
}

/// Erases everything about the member in every server, as `/memory forget-all` does.
pub async fn erase(
    Running {
        shared,
        session,
        bot,
    }: Running,
    Path((guild, user)): Path<(u64, u64)>,
    Form(form): Form<EraseForm>,
) -> Page {
    let frame = view::Frame::new(&session, "Erased", "members");
    if !form.confirm.trim().eq_ignore_ascii_case("yes") {
        return Ok(shared.pages.message(
            &frame,
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "Nothing was erased: type yes in the box to confirm.",
        ));
    }
    let report = bot.store.erase_user(UserId(user)).await?;
    tracing::info!(user, "console: erased a member's data");
    Ok(shared.pages.message(
        &frame,
        axum::http::StatusCode::OK,
        &format!(
            "Erased in every server: {} fact(s), {} message(s), {} relationship record(s), {} profile row(s). Back to the members of server {guild}.",
            report.facts, report.messages, report.relationship_rows, report.user_rows
        ),
    ))
}
