//! /memory show|forget|forget-all|export: members see, delete and download what the bot
//! stores about them (Discord's Developer Terms require deletion and access on request).
//! Every reply is ephemeral: only the member sees their own data.

use super::{Context, Error, embed};
use crate::domain::UserId;
use serenity::all::{CreateAttachment, CreateAutocompleteResponse};

/// What the bot remembers about you
#[poise::command(slash_command, subcommands("show", "forget", "forget_all", "export"))]
pub async fn memory(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

fn me(ctx: Context<'_>) -> UserId {
    UserId(ctx.author().id.get())
}

/// See the facts the bot remembers about you (only you see this)
#[poise::command(slash_command)]
pub async fn show(ctx: Context<'_>) -> Result<(), Error> {
    let facts = ctx.data().store.facts_of_user(me(ctx), false).await?;
    let e = super::admin::facts_embed("What I remember about you".to_owned(), &facts).field(
        "Your controls",
        "`/memory forget <id>` deletes one fact, `/memory forget-all` deletes them all, \
         `/memory export` sends you everything stored about you.",
        false,
    );
    super::reply_private(ctx, e).await
}

async fn autocomplete_own_fact(ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    super::admin::fact_choices(ctx, me(ctx), partial).await
}

/// Make the bot forget one fact about you
#[poise::command(slash_command)]
pub async fn forget(
    ctx: Context<'_>,
    #[description = "Which fact (see /memory show)"]
    #[autocomplete = "autocomplete_own_fact"]
    id: i64,
) -> Result<(), Error> {
    // Another member's fact id reads as unknown: delete_fact matches on the owner too.
    ctx.data().store.delete_fact(me(ctx), id).await?;
    super::reply_private(
        ctx,
        embed("Forgotten").description(format!("Fact #{id} is deleted.")),
    )
    .await
}

/// Make the bot forget every fact about you
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
            "This deletes every fact I remember about you. Run `/memory forget-all confirm:yes` to go ahead.",
        ));
    }
    let removed = ctx.data().store.delete_all_facts(me(ctx)).await?;
    super::reply_private(
        ctx,
        embed("Forgotten").description(format!(
            "I deleted {removed} fact(s) about you, including old, superseded ones."
        )),
    )
    .await
}

/// Download everything the bot stores about you as a JSON file (only you see it)
#[poise::command(slash_command)]
pub async fn export(ctx: Context<'_>) -> Result<(), Error> {
    let data = ctx.data().store.export_user(me(ctx)).await?;
    let json = serde_json::to_vec_pretty(&data)?;
    let summary = format!(
        "{} fact(s), {} message(s) logged, {} archived, {} known name(s).",
        data.facts.len(),
        data.messages.len(),
        data.archived_messages.len(),
        data.names.len()
    );
    let file = CreateAttachment::bytes(json, format!("personabot-export-{}.json", ctx.author().id));
    ctx.send(
        poise::CreateReply::default()
            .ephemeral(true)
            .embed(embed("Your data").description(summary))
            .attachment(file),
    )
    .await?;
    Ok(())
}
