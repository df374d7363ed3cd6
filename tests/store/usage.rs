//! Token usage per day and scope: adding to a scope's counters, reading them back, the
//! one notice per scope and day, and a member's rows erased with their data.

use crate::{both_backends, t0};
use personabot::domain::budget::TokenUsage;
use personabot::domain::spend::SpendScope;
use personabot::domain::{GuildId, ServerMember, UserId};

fn usage(prompt: u64, completion: u64) -> TokenUsage {
    TokenUsage {
        prompt,
        completion,
        cached: 1,
        requests: 1,
    }
}

both_backends!(usage_adds_up_per_scope_and_day, |store| async move {
    let member = SpendScope::Member(ServerMember::new(GuildId(2000), UserId(7)));
    let server = SpendScope::Server(GuildId(2000));
    let scopes = [SpendScope::Global, server, member];
    personabot::store::usage::add_spend(
        store.writer(),
        "2026-11-29",
        &scopes,
        usage(100, 20),
        t0(),
    )
    .await
    .expect("add");
    personabot::store::usage::add_spend(
        store.writer(),
        "2026-11-29",
        &scopes[..2],
        usage(50, 5),
        t0(),
    )
    .await
    .expect("add");
    personabot::store::usage::add_spend(
        store.writer(),
        "2026-11-28",
        &scopes,
        usage(1_000, 0),
        t0(),
    )
    .await
    .expect("add another day");
    let spent = personabot::store::usage::spend_on(store.reader(), "2026-11-29", &scopes)
        .await
        .expect("read");
    let of = |scope| {
        spent
            .iter()
            .find(|(s, _)| *s == scope)
            .map(|(_, v)| *v)
            .expect("a row")
    };
    assert_eq!(of(SpendScope::Global).tokens(), 175);
    assert_eq!(of(server).usage.requests, 2);
    assert_eq!(of(server).usage.cached, 2);
    assert_eq!(of(member).tokens(), 120);
    let other_member = SpendScope::Member(ServerMember::new(GuildId(2001), UserId(7)));
    assert!(
        personabot::store::usage::spend_on(store.reader(), "2026-11-29", &[other_member])
            .await
            .expect("read")
            .is_empty(),
        "the same user in another server is another scope"
    );

    // One notice per scope and day.
    assert!(
        personabot::store::usage::claim_notice(store.writer(), "2026-11-29", server)
            .await
            .expect("claim")
    );
    assert!(
        !personabot::store::usage::claim_notice(store.writer(), "2026-11-29", server)
            .await
            .expect("claim")
    );
    assert!(
        personabot::store::usage::claim_notice(store.writer(), "2026-11-28", server)
            .await
            .expect("claim")
    );
    assert!(
        !personabot::store::usage::claim_notice(store.writer(), "2026-11-29", other_member)
            .await
            .expect("claim"),
        "nothing to announce where nothing was spent"
    );

    // The member's own rows are in their export, under the server they are from.
    let export = personabot::store::export::export_snapshot(store.reader(), UserId(7))
        .await
        .expect("export");
    let here = export
        .servers
        .iter()
        .find(|s| s.guild_id == Some(GuildId(2000)))
        .expect("the server");
    assert_eq!(here.token_usage.len(), 2, "{:?}", here.token_usage);
    assert_eq!(here.token_usage[1].day, "2026-11-29");
    assert_eq!(here.token_usage[1].prompt_tokens, 100);

    // A member's erasure takes their rows, not the server's or the bot's.
    personabot::store::export::delete_user_data(store.writer(), UserId(7))
        .await
        .expect("erase");
    let left = personabot::store::usage::spend_on(store.reader(), "2026-11-29", &scopes)
        .await
        .expect("read");
    assert_eq!(left.len(), 2);
    assert_eq!(
        personabot::store::usage::purge_spend_before(store.writer(), "2026-11-29")
            .await
            .expect("purge"),
        2,
        "yesterday's global and server rows"
    );
});
