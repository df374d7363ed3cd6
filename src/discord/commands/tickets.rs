//! /ticket open and /ticket close: a private thread per support request, visible to the
//! member and the staff role (`bot.ticket_staff_role_id`), closed with a saved transcript.
//!
//! A role cannot be added to a thread directly; mentioning it in the thread's first message
//! (with that one role allowed to ping) adds its members, as Discord documents for private
//! threads.

use super::{Context, Error, UserError, checks, clip, embed};
use crate::domain::TicketStatus;
use crate::domain::moderation::perms;
use crate::domain::{ChannelId, GuildId, UserId};
use serenity::all::{
    AutoArchiveDuration, ChannelType, CreateAllowedMentions, CreateMessage, CreateThread,
    EditThread, GetMessages, Message, MessageId, RoleId,
};

/// Messages read into a transcript at most.
const MAX_TRANSCRIPT_MESSAGES: usize = 1000;

/// Support tickets: a private thread with the staff
#[poise::command(slash_command, guild_only, subcommands("open", "close"))]
pub async fn ticket(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Open a private support thread with the staff
#[poise::command(slash_command, guild_only)]
pub async fn open(
    ctx: Context<'_>,
    #[description = "What you need help with (up to 100 characters)"] subject: String,
) -> Result<(), Error> {
    let subject = subject.trim().to_owned();
    if subject.is_empty() || subject.chars().count() > 100 {
        return Err(UserError::boxed("The subject must be 1 to 100 characters."));
    }
    let guild = checks::guild_id(ctx)?;
    checks::require_bot(ctx, perms::CREATE_PRIVATE_THREADS)?;
    let channel = ctx.channel_id();
    if ctx
        .guild()
        .and_then(|g| {
            g.channels
                .get(&channel)
                .map(|c| c.thread_metadata.is_some())
        })
        .unwrap_or(false)
    {
        return Err(UserError::boxed(
            "Open tickets from a text channel, not from inside a thread.",
        ));
    }
    let author = ctx.author().clone();
    let name = clip(&format!("ticket-{}-{}", author.name, subject), 100);
    let thread = channel
        .create_thread(
            ctx,
            CreateThread::new(name)
                .kind(ChannelType::PrivateThread)
                .invitable(false)
                .auto_archive_duration(AutoArchiveDuration::OneWeek),
        )
        .await
        .map_err(|e| checks::discord_refusal(e, "create a private thread here"))?;
    let stored = ctx
        .data()
        .store
        .open_ticket(
            GuildId(guild.get()),
            ChannelId(thread.id.get()),
            UserId(author.id.get()),
            subject.clone(),
        )
        .await;
    let ticket = match stored {
        Ok(ticket) => ticket,
        Err(e) => {
            // Do not leave an orphan thread behind.
            let _ = thread.id.delete(ctx).await;
            return Err(e.into());
        }
    };
    thread.id.add_thread_member(ctx, author.id).await?;
    let staff = ctx.data().settings.bot.ticket_staff_role_id;
    let mut mentions = CreateAllowedMentions::new().users([author.id]);
    let mut text = format!(
        "<@{}> opened ticket #{}: **{}**",
        author.id, ticket.id, subject
    );
    if let Some(role) = staff {
        text.push_str(&format!("\n<@&{role}> will be with you soon."));
        mentions = mentions.roles([RoleId::new(role)]);
    }
    text.push_str("\nClose it with `/ticket close` when you are done.");
    thread
        .id
        .send_message(
            ctx,
            CreateMessage::new()
                .content(text)
                .allowed_mentions(mentions),
        )
        .await?;
    super::reply_private(
        ctx,
        embed(format!("Ticket #{} opened", ticket.id))
            .description(format!("Your private thread: <#{}>", thread.id)),
    )
    .await
}

/// One transcript line: `[2024-05-01 12:00 UTC] alice: text (+ attachment names)`.
fn transcript_line(m: &Message) -> String {
    let at = chrono::DateTime::from_timestamp(m.timestamp.unix_timestamp(), 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    let mut line = format!("[{at}] {}: {}", m.author.name, m.content);
    for a in &m.attachments {
        line.push_str(&format!(" [attachment: {}]", a.filename));
    }
    for e in &m.embeds {
        if let Some(title) = &e.title {
            line.push_str(&format!(" [embed: {title}]"));
        }
    }
    line
}

/// Reads the thread's history, oldest first.
async fn transcript(ctx: Context<'_>, thread: serenity::all::ChannelId) -> Result<String, Error> {
    let mut messages: Vec<Message> = Vec::new();
    let mut before: Option<MessageId> = None;
    loop {
        let mut req = GetMessages::new().limit(100);
        if let Some(b) = before {
            req = req.before(b);
        }
        let page = thread.messages(ctx, req).await?;
        let done = page.len() < 100;
        before = page.last().map(|m| m.id);
        messages.extend(page);
        if done || messages.len() >= MAX_TRANSCRIPT_MESSAGES {
            break;
        }
    }
    messages.sort_by_key(|m| m.id);
    Ok(messages
        .iter()
        .map(transcript_line)
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Close this ticket: save its transcript, then archive and lock the thread
#[poise::command(slash_command, guild_only)]
pub async fn close(ctx: Context<'_>) -> Result<(), Error> {
    let thread = ctx.channel_id();
    let thread_id = ChannelId(thread.get());
    let ticket = ctx
        .data()
        .store
        .ticket_by_thread(thread_id)
        .await?
        .ok_or_else(|| UserError::boxed("Run /ticket close inside the ticket's thread."))?;
    if ticket.status == TicketStatus::Closed {
        return Err(UserError::boxed("This ticket is already closed."));
    }
    let author = ctx.author().id;
    let staff_role = ctx.data().settings.bot.ticket_staff_role_id;
    let is_staff = checks::interaction(ctx)?
        .member
        .as_ref()
        .is_some_and(|m| staff_role.is_some_and(|r| m.roles.iter().any(|x| x.get() == r)));
    let allowed = author.get() == ticket.opener_id.0
        || is_staff
        || perms::has(checks::invoker_permissions(ctx), perms::MANAGE_THREADS)
        || checks::is_admin(ctx);
    if !allowed {
        return Err(UserError::boxed(
            "Only the member who opened the ticket or the staff can close it.",
        ));
    }
    checks::require_bot(ctx, perms::MANAGE_THREADS)?;
    // Reading the whole thread and saving it can outlast Discord's 3 seconds: defer
    // (publicly, like the answer) once every refusal is behind us.
    ctx.defer().await?;
    let text = transcript(ctx, thread).await?;
    let closed = ctx
        .data()
        .store
        .close_ticket(thread_id, UserId(author.get()), text)
        .await?;
    // Answer before archiving: nothing can be posted in a locked, archived thread.
    ctx.send(
        poise::CreateReply::default().embed(
            embed(format!("Ticket #{} closed", closed.id)).description(format!(
                "Closed by <@{author}>. The transcript was saved; this thread is now archived and locked."
            )),
        ),
    )
    .await?;
    thread
        .edit_thread(ctx, EditThread::new().archived(true).locked(true))
        .await
        .map_err(|e| checks::discord_refusal(e, "archive the thread"))?;
    Ok(())
}
