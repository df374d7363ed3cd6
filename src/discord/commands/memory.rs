//! /memory show|forget|forget-all|export|off|on: members see, delete, download and switch
//! off what the bot stores about them (Discord's Developer Terms require deletion and access
//! on request). In a server, `show` and `forget` work on what was learned in that server; in
//! a DM, on every server's. `forget-all`, `export`, `off` and `on` always cover every
//! server: a member asks about themselves, not about one server. Every reply is ephemeral.

use super::{Context, Error, embed};
use crate::domain::{GuildId, MemoryFact, ServerMember, UserExport, UserId};
use serenity::all::{CreateAttachment, CreateAutocompleteResponse};

/// What the bot remembers about you
#[poise::command(
    slash_command,
    subcommands("show", "forget", "forget_all", "export", "off", "on")
)]
pub async fn memory(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

fn me(ctx: Context<'_>) -> UserId {
    UserId(ctx.author().id.get())
}

/// The facts the member may see and delete here: this server's, or in a DM every server's.
async fn own_facts(ctx: Context<'_>) -> Result<Vec<MemoryFact>, Error> {
    let store = &ctx.data().store;
    Ok(match ctx.guild_id() {
        Some(guild) => {
            let member = ServerMember::new(GuildId(guild.get()), me(ctx));
            store.facts_of_member(member, false).await?
        }
        None => store
            .facts_of_user(me(ctx))
            .await?
            .into_iter()
            .filter(|f| f.superseded_by.is_none())
            .collect(),
    })
}

/// See the facts the bot remembers about you (only you see this)
#[poise::command(slash_command)]
pub async fn show(ctx: Context<'_>) -> Result<(), Error> {
    let facts = own_facts(ctx).await?;
    let title = if ctx.guild_id().is_some() {
        "What I remember about you in this server"
    } else {
        "What I remember about you, in every server"
    };
    let e = super::admin::facts_embed(title.to_owned(), &facts).field(
        "Your controls",
        "`/memory forget <id>` deletes one fact, `/memory forget-all` deletes everything I \
         hold about you, `/memory export` sends you all of it, `/memory off` stops me \
         remembering you.",
        false,
    );
    super::reply_private(ctx, e).await
}

async fn autocomplete_own_fact(ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    super::admin::fact_choices(&own_facts(ctx).await.unwrap_or_default(), partial)
}

/// Make the bot forget one fact about you
#[poise::command(slash_command)]
pub async fn forget(
    ctx: Context<'_>,
    #[description = "Which fact (see /memory show)"]
    #[autocomplete = "autocomplete_own_fact"]
    id: i64,
) -> Result<(), Error> {
    // Another member's fact id (or another server's, from inside a server) reads as unknown.
    let store = &ctx.data().store;
    match ctx.guild_id() {
        Some(guild) => {
            let member = ServerMember::new(GuildId(guild.get()), me(ctx));
            store.delete_fact(member, id).await?;
        }
        None => store.delete_user_fact(me(ctx), id).await?,
    }
    super::reply_private(
        ctx,
        embed("Forgotten").description(format!("Fact #{id} is deleted.")),
    )
    .await
}

/// Erase everything the bot holds about you, in every server
#[poise::command(slash_command, rename = "forget-all")]
pub async fn forget_all(
    ctx: Context<'_>,
    #[description = "Type yes to confirm"] confirm: Option<String>,
) -> Result<(), Error> {
    if !confirm
        .as_deref()
        .is_some_and(|c| c.trim().eq_ignore_ascii_case("yes"))
    {
        return Err(super::UserError::boxed(
            "This erases everything I hold about you in every server: facts, the messages \
             you wrote that I logged or archived, the names I saw you use, and how I feel \
             about you. Run `/memory forget-all confirm:yes` to go ahead.",
        ));
    }
    ctx.defer_ephemeral().await?;
    let report = ctx.data().store.erase_user(me(ctx)).await?;
    super::reply_private(
        ctx,
        embed("Everything about you is erased").description(format!(
            "Deleted in every server: {} fact(s), {} message(s), {} relationship record(s), \
             {} profile row(s) with your names. Nothing of it can come back from my nightly \
             memory run. If you turned memory off, that choice is kept.\n\nKept: moderation cases and support-ticket transcripts. They are \
             each server's own records, not my memory of you; ask that server's admins about \
             them.",
            report.facts, report.messages, report.relationship_rows, report.user_rows
        )),
    )
    .await
}

fn export_summary(data: &UserExport) -> String {
    if data.is_empty() {
        return "I hold nothing about you.".to_owned();
    }
    let mut lines = Vec::new();
    for server in &data.servers {
        let place = server.guild_id.map_or_else(
            || "Your account and direct messages".to_owned(),
            |g| format!("Server {g}"),
        );
        lines.push(format!(
            "**{place}**: {} fact(s), {} message(s) logged, {} archived, {} name(s), \
             relationship {}",
            server.facts.len(),
            server.messages.len(),
            server.archived_messages.len(),
            server.names.len(),
            if server.relationship.is_some() {
                "recorded"
            } else {
                "not recorded"
            },
        ));
    }
    lines.join("\n")
}

/// Download everything the bot stores about you as a JSON file (only you see it)
#[poise::command(slash_command)]
pub async fn export(ctx: Context<'_>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let data = ctx.data().store.export_user(me(ctx)).await?;
    let json = serde_json::to_vec_pretty(&data)?;
    let file = CreateAttachment::bytes(json, format!("personabot-export-{}.json", ctx.author().id));
    ctx.send(
        poise::CreateReply::default()
            .ephemeral(true)
            .embed(embed("Your data, server by server").description(export_summary(&data)))
            .attachment(file),
    )
    .await?;
    Ok(())
}

/// Stop the bot remembering you, in every server (it still hears the conversation)
#[poise::command(slash_command)]
pub async fn off(ctx: Context<'_>) -> Result<(), Error> {
    switch(ctx, true).await
}

/// Let the bot remember you again
#[poise::command(slash_command)]
pub async fn on(ctx: Context<'_>) -> Result<(), Error> {
    switch(ctx, false).await
}

async fn switch(ctx: Context<'_>, off: bool) -> Result<(), Error> {
    let username = ctx.author().name.clone();
    ctx.data()
        .store
        .set_memory_off(me(ctx), username, off)
        .await?;
    let text = if off {
        "I will not remember you any more, in any server: I still see your messages to follow \
         the conversation, but I never learn facts from them or archive them, and I leave \
         out what I knew. `/memory forget-all` erases what I already hold; `/memory on` \
         undoes this."
    } else {
        "I will remember what you tell me again, from now on."
    };
    super::reply_private(
        ctx,
        embed(if off { "Memory off" } else { "Memory on" }).description(text),
    )
    .await
}
