//! The nightly consolidation of a day of chat, and the status that follows it.

use super::{
    all_facts, archive, extraction_for, facts_json, is_extraction, is_merge_judgement, is_status,
    seed_fact, short_term,
};
use crate::common::db::Backend;
use crate::e2e_both;
use crate::support::{WAIT, eventually, spawn_bot_with, wait_for_posts};
use chrono::{Duration, SubsecRound as _, Utc};
use fakes::{OpenAiRequest, Reply, Rule, ids};
use personabot::domain::MemoryFact;
use serde_json::json;
use std::collections::BTreeSet;

/// A scripted day: three members chat (one only says "lol"), the bot answers once.
/// Consolidation stores the expected facts, bumps a fact said again in other words, lets a
/// contradiction supersede the old fact, archives every message of the day exactly once and
/// leaves the message that arrived during the run in the short-term log. A second run
/// changes nothing. Then the status is generated, stored and shown as the bot's presence.
async fn a_day_is_consolidated(backend: Backend) {
    let bot = spawn_bot_with(backend, &[]).await;
    let (discord, openai, db) = (&bot.discord, &bot.openai, &bot.app.database);
    let earlier = Utc::now() - Duration::days(10);
    let tea = seed_fact(db, ids::ALICE, "likes green tea", "preference", earlier).await;
    let chess = seed_fact(
        db,
        ids::BOB,
        "plays chess on weekends",
        "preference",
        earlier,
    )
    .await;
    let job = seed_fact(
        db,
        ids::CAROL,
        "works night shifts as a nurse at the city hospital",
        "personal",
        earlier,
    )
    .await;

    // Alice's extraction is slow, so a message can arrive while the run is in progress.
    openai.script(Rule::when(extraction_for("alice")).reply(Reply::delayed(
        std::time::Duration::from_millis(300),
        facts_json(&[
            ("likes green tea a lot", "preference"),
            ("adopted a cat named Miso", "personal"),
        ]),
    )));
    openai.script(Rule::when(extraction_for("bob")).reply(facts_json(&[
        ("plays chess on the weekends", "preference"),
        ("is learning to play the cello", "personal"),
    ])));
    // Two facts that both contradict the stored one: the first supersedes it, the second
    // must not try to supersede it again (that used to fail Carol's whole transaction).
    openai.script(Rule::when(extraction_for("carol")).reply(facts_json(&[
        (
            "works night shifts as a doctor at the city hospital",
            "personal",
        ),
        (
            "works night shifts as a surgeon at the city hospital",
            "personal",
        ),
    ])));
    openai.script(
        Rule::when(|r| is_merge_judgement(r) && r.prompt_text().contains("green tea"))
            .reply(Reply::json(json!({"verdict": "duplicate"}))),
    );
    openai.script(
        Rule::when(|r| is_merge_judgement(r) && r.prompt_text().contains("hospital"))
            .reply(Reply::json(json!({"verdict": "contradiction"}))),
    );
    openai.script(Rule::when(is_status).reply(Reply::text(
        "\"Brewing green tea and humming along to cello practice #cozy\"",
    )));
    openai
        .script(Rule::when_last_user_contains("good tea").reply(Reply::text("Sencha, obviously.")));

    let day = [
        (
            ids::ALICE,
            "I adopted a cat yesterday, her name is Miso".to_owned(),
        ),
        (
            ids::ALICE,
            "drinking my third cup of green tea this morning".to_owned(),
        ),
        (
            ids::BOB,
            "chess club again this weekend, who's in".to_owned(),
        ),
        (
            ids::BOB,
            format!("<@{}> what's a good tea for the evening?", ids::BOT),
        ),
        (
            ids::CAROL,
            "switched from nursing, I'm a doctor at the city hospital now".to_owned(),
        ),
        (
            ids::BOB,
            "also I started cello lessons, my neighbours hate me".to_owned(),
        ),
        (ids::OWNER, "lol".to_owned()),
        (ids::OWNER, "ok".to_owned()),
    ];
    for (author, text) in &day {
        discord.user_says(ids::GENERAL, *author, text).await;
    }
    wait_for_posts(discord, ids::GENERAL, 1).await;
    let before = eventually("the whole day (and the bot's answer) logged", || async {
        bot.app.store.flush().await.expect("flush");
        let log = short_term(db).await;
        (log.len() == day.len() + 1).then_some(log)
    })
    .await;
    assert_eq!(
        before.iter().filter(|m| m.is_bot).count(),
        1,
        "the bot's answer is logged"
    );
    let day_ids: BTreeSet<i64> = before.iter().map(|m| m.message_id).collect();

    // The run, with a message arriving while Alice's extraction is under way.
    let run = {
        let consolidator = bot.app.consolidator.clone();
        tokio::spawn(async move { consolidator.run_now(WAIT).await })
    };
    openai
        .wait_for_request(extraction_for("alice"), WAIT)
        .await
        .expect("alice's extraction started");
    let late = discord.user_says(ids::GENERAL, ids::ALICE, "brb lol").await;
    let late_id: i64 = late["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("message id");
    let report = run
        .await
        .expect("run task")
        .expect("consolidator answers")
        .expect("consolidation succeeds");
    assert_eq!(report.users_done, 4, "{report:?}");
    assert_eq!(report.users_skipped, 0, "{report:?}");
    assert_eq!(report.facts_added, 3, "{report:?}"); // Miso, cello, surgeon
    assert_eq!(report.facts_bumped, 2, "{report:?}"); // tea (judged), chess (near-identical)
    assert_eq!(report.facts_superseded, 1, "{report:?}"); // the doctor replaces the nurse
    assert_eq!(report.llm_calls, 6, "{report:?}"); // three extractions, three judgements
    assert_eq!(report.messages_archived, day_ids.len() as u64, "{report:?}");

    // One extraction per member with something to say; none for "lol" and "ok".
    let extractions = openai
        .chat_requests()
        .into_iter()
        .filter(is_extraction)
        .collect::<Vec<_>>();
    assert_eq!(
        extractions.len(),
        3,
        "{:?}",
        extractions
            .iter()
            .map(OpenAiRequest::user_text)
            .collect::<Vec<_>>()
    );
    assert!(
        !extractions
            .iter()
            .any(|r| r.user_text().starts_with("Member: \"owner\""))
    );
    assert_eq!(
        openai
            .chat_requests()
            .into_iter()
            .filter(is_merge_judgement)
            .count(),
        3
    );
    let alice_prompt = openai
        .chat_requests()
        .into_iter()
        .find(extraction_for("alice"))
        .expect("alice's prompt")
        .prompt_text();
    assert!(alice_prompt.contains("her name is Miso"), "{alice_prompt}");
    assert!(
        !alice_prompt.contains("cello"),
        "only alice's own messages: {alice_prompt}"
    );

    // Facts: the tea fact bumped (same row), one new fact, nothing else.
    let alice = all_facts(db, ids::ALICE).await;
    assert_eq!(alice.len(), 2, "{alice:?}");
    let tea_now = alice.iter().find(|f| f.id == tea).expect("tea fact kept");
    assert_eq!(tea_now.fact, "likes green tea");
    assert_eq!(tea_now.reference_count, 2);
    assert!(
        tea_now.last_mentioned_at > earlier + Duration::days(9),
        "{tea_now:?}"
    );
    assert!(
        (tea_now.first_mentioned_at - earlier).num_seconds().abs() <= 1,
        "{tea_now:?}"
    );
    let miso = alice.iter().find(|f| f.id != tea).expect("new fact");
    assert_eq!(
        (
            miso.fact.as_str(),
            miso.category.as_str(),
            miso.reference_count
        ),
        ("adopted a cat named Miso", "personal", 1)
    );
    assert!(miso.embedding.is_some(), "new facts keep their embedding");

    let bob = all_facts(db, ids::BOB).await;
    assert_eq!(bob.len(), 2, "{bob:?}");
    assert_eq!(
        bob.iter()
            .find(|f| f.id == chess)
            .map(|f| f.reference_count),
        Some(2)
    );
    assert!(
        bob.iter()
            .any(|f| f.fact == "is learning to play the cello" && f.reference_count == 1)
    );

    let carol = all_facts(db, ids::CAROL).await;
    assert_eq!(carol.len(), 3, "the old fact is kept as history: {carol:?}");
    let old = carol.iter().find(|f| f.id == job).expect("old job fact");
    let new = carol
        .iter()
        .find(|f| f.fact.contains("doctor"))
        .expect("new job fact");
    assert_eq!(old.superseded_by, Some(new.id));
    assert!(old.valid_until.is_some());
    assert_eq!(old.reference_count, 1);
    assert!(new.superseded_by.is_none());
    assert!(
        carol
            .iter()
            .any(|f| f.fact.contains("surgeon") && f.superseded_by.is_none())
    );
    assert!(all_facts(db, ids::OWNER).await.is_empty());

    // Every message of the day archived exactly once; only the late one is left.
    let archived = archive(db).await;
    let archived_ids: BTreeSet<i64> = archived.iter().map(|m| m.message_id).collect();
    assert_eq!(
        archived.len(),
        archived_ids.len(),
        "no message archived twice"
    );
    assert_eq!(archived_ids, day_ids);
    let left = eventually("the late message logged", || async {
        bot.app.store.flush().await.expect("flush");
        let left = short_term(db).await;
        (!left.is_empty()).then_some(left)
    })
    .await;
    assert_eq!(
        left.iter().map(|m| m.message_id).collect::<Vec<_>>(),
        vec![late_id]
    );
    // The gateway adapter keeps message times to the whole second (src/discord/events.rs).
    let cutoff_second = report.cutoff.trunc_subsecs(0);
    assert!(
        left[0].created_at >= cutoff_second,
        "{:?} vs cutoff {}",
        left[0],
        report.cutoff
    );

    // The new day: the status was generated, stored and sent as presence (op 3).
    let status = "Brewing green tea and humming along to cello practice";
    let presence = discord
        .wait_for_gateway(
            |v| {
                v["op"] == 3
                    && v["d"]["activities"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|a| a["state"] == status))
            },
            WAIT,
        )
        .await
        .expect("presence update with the generated status");
    assert_eq!(
        presence["d"]["activities"][0]["type"], 4,
        "a custom status: {presence}"
    );
    assert_eq!(
        personabot::store::global_state::global_text(
            db.reader(),
            personabot::domain::StateScope::BotWide,
            personabot::domain::mood::STATUS_KEY
        )
        .await
        .expect("read"),
        Some(status.to_owned())
    );
    let mood = personabot::store::global_state::mood(db.reader())
        .await
        .expect("mood");
    assert!(!mood.is_empty(), "a mood was rolled");

    // A second run: no model call for facts, no fact touched, the archive as it was, and the
    // mood is not rolled twice in one day. Only the late message (now before the new cutoff,
    // and with nothing worth keeping) moves on.
    let facts_before: Vec<Vec<MemoryFact>> = vec![
        all_facts(db, ids::ALICE).await,
        all_facts(db, ids::BOB).await,
        all_facts(db, ids::CAROL).await,
    ];
    let chats_before = openai.chat_requests().len();
    let again = bot
        .app
        .consolidator
        .run_now(WAIT)
        .await
        .expect("consolidator answers")
        .expect("second run succeeds");
    assert_eq!(
        (
            again.facts_added,
            again.facts_bumped,
            again.facts_superseded
        ),
        (0, 0, 0),
        "{again:?}"
    );
    assert_eq!(again.messages_archived, 1, "{again:?}");
    let new_chats: Vec<OpenAiRequest> = openai.chat_requests().split_off(chats_before);
    assert!(
        new_chats
            .iter()
            .all(|r| !is_extraction(r) && !is_merge_judgement(r)),
        "{new_chats:?}"
    );
    let facts_after = vec![
        all_facts(db, ids::ALICE).await,
        all_facts(db, ids::BOB).await,
        all_facts(db, ids::CAROL).await,
    ];
    assert_eq!(facts_before, facts_after);
    let archived_again = archive(db).await;
    for m in &archived {
        assert_eq!(
            archived_again.iter().find(|a| a.message_id == m.message_id),
            Some(m),
            "untouched"
        );
    }
    assert_eq!(archived_again.len(), archived.len() + 1);
    assert!(short_term(db).await.is_empty());
    assert_eq!(
        personabot::store::global_state::mood(db.reader())
            .await
            .expect("mood"),
        mood,
        "one mood per day"
    );
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(a_day_is_consolidated);
