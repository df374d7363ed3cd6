//! The fake gateway: a websocket per connection, speaking Discord's v10 protocol in plain
//! JSON Text frames (serenity accepts them uncompressed).
//!
//! Per connection: HELLO, then IDENTIFY (token, intents and `shard: [id, count]` checked)
//! answered by READY (every server of that shard listed as unavailable) and one GUILD_CREATE
//! per server of the shard, or RESUME answered by a replay of missed dispatches and RESUMED.
//! Each shard has its own session, sequence and replay log. Heartbeats get ACKs. Everything the bot sends is recorded. Dispatches from the test reach the
//! connection through its outbound channel, so they are ordered with the handshake frames.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::discord::{GatewayState, Inner, Live, Outbound, shard_of};
use crate::payloads;
use crate::record::lock;

/// GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT: without these the bot cannot work, so the
/// fake refuses to pretend it can.
pub const REQUIRED_INTENTS: u64 = 1 | (1 << 9) | (1 << 15);

const AUTHENTICATION_FAILED: u16 = 4004;
const INVALID_SHARD: u16 = 4010;
const SHARDING_REQUIRED: u16 = 4011;
const DISALLOWED_INTENTS: u16 = 4014;

pub(crate) async fn serve(listener: TcpListener, inner: Arc<Inner>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(connection(stream, inner.clone()));
    }
}

/// What handling one inbound payload asks the connection to do.
pub(crate) enum Next {
    Continue,
    Close(u16, &'static str),
}

async fn connection(stream: TcpStream, inner: Arc<Inner>) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn_id = inner.next_conn_id.fetch_add(1, Ordering::Relaxed) + 1;
    let hello = json!({"op": 10, "d": {"heartbeat_interval": inner.options.heartbeat_interval_ms}});
    if sink.send(Message::Text(hello.to_string())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            incoming = source.next() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                    Some(Ok(_)) => continue,
                };
                let Ok(payload) = serde_json::from_str::<Value>(&text) else {
                    inner.gateway_received.push(json!({"unparsable": text}));
                    continue;
                };
                inner.gateway_received.push(payload.clone());
                if let Next::Close(code, reason) = handle(&inner, conn_id, &tx, &payload) {
                    lock(&inner.gateway_closes).push((code, reason.to_owned()));
                    let frame = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    break;
                }
            }
            outbound = rx.recv() => match outbound {
                Some(Outbound::Frame(frame)) => {
                    // Frames queued behind this one go out in the same write: a flood reaches
                    // the bot as fast as it could from Discord, not one syscall per event.
                    let (mut next, mut failed, mut drop_after) = (Some(frame), false, false);
                    while let Some(frame) = next.take() {
                        if sink.feed(Message::Text(frame.to_string())).await.is_err() {
                            failed = true;
                            break;
                        }
                        match rx.try_recv() {
                            Ok(Outbound::Frame(more)) => next = Some(more),
                            Ok(Outbound::Drop) => drop_after = true,
                            Err(_) => {}
                        }
                    }
                    if failed || sink.flush().await.is_err() || drop_after {
                        break;
                    }
                }
                Some(Outbound::Drop) | None => break,
            }
        }
    }
    let mut shards = lock(&inner.gateway);
    for g in shards.iter_mut() {
        if g.live.as_ref().is_some_and(|l| l.conn_id == conn_id) {
            g.live = None;
        }
    }
    drop(shards);
    inner.gateway_changed.notify_waiters();
}

fn handle(
    inner: &Inner,
    conn_id: u64,
    tx: &mpsc::UnboundedSender<Outbound>,
    payload: &Value,
) -> Next {
    let d = &payload["d"];
    match payload.get("op").and_then(Value::as_u64) {
        Some(1) => {
            let _ = tx.send(Outbound::Frame(json!({"op": 11})));
            Next::Continue
        }
        Some(2) => identify(inner, conn_id, tx, d),
        Some(6) => resume(inner, conn_id, tx, d),
        // Presence (3), voice (4), member requests (8): recorded above, nothing to answer.
        _ => Next::Continue,
    }
}

fn token_ok(inner: &Inner, d: &Value) -> bool {
    let expected = format!("Bot {}", inner.options.token);
    d.get("token").and_then(Value::as_str) == Some(expected.as_str())
}

fn identify(inner: &Inner, conn_id: u64, tx: &mpsc::UnboundedSender<Outbound>, d: &Value) -> Next {
    if !token_ok(inner, d) {
        return Next::Close(AUTHENTICATION_FAILED, "Authentication failed.");
    }
    let intents = d.get("intents").and_then(Value::as_u64).unwrap_or(0);
    if intents & REQUIRED_INTENTS != REQUIRED_INTENTS {
        return Next::Close(
            DISALLOWED_INTENTS,
            "Disallowed intent(s): fake needs GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT.",
        );
    }
    let count = inner.options.shard_count.max(1);
    let shard = match d.get("shard").and_then(Value::as_array).map(Vec::as_slice) {
        None if count == 1 => 0,
        None => return Next::Close(SHARDING_REQUIRED, "Sharding required."),
        Some([id, total]) if total.as_u64() == Some(u64::from(count)) => {
            match id.as_u64().and_then(|id| u32::try_from(id).ok()) {
                Some(id) if id < count => id,
                _ => return Next::Close(INVALID_SHARD, "Invalid shard."),
            }
        }
        Some(_) => return Next::Close(INVALID_SHARD, "Invalid shard."),
    };
    let session_id = format!("fake-session-{conn_id}");
    let (ready, guild_creates) = {
        let world = lock(&inner.world);
        let mine: Vec<u64> = world
            .guild_ids()
            .into_iter()
            .filter(|g| shard_of(*g, count) == shard)
            .collect();
        let creates: Vec<Value> = mine
            .iter()
            .map(|g| payloads::guild_create_in(&world, *g))
            .collect();
        (
            payloads::ready_on_shard(
                &world,
                &session_id,
                &inner.gateway_url(),
                [shard, count],
                &mine,
            ),
            creates,
        )
    };
    let mut shards = lock(&inner.gateway);
    let Some(g) = usize::try_from(shard).ok().and_then(|i| shards.get_mut(i)) else {
        return Next::Close(INVALID_SHARD, "Invalid shard.");
    };
    // Whatever the previous session never delivered is delivered in the new one.
    let mut carried = std::mem::take(&mut g.before_first_session);
    let delivered = g.delivered;
    carried.extend(
        g.log
            .drain(..)
            .filter(|f| f["s"].as_u64().unwrap_or(0) > delivered)
            .filter_map(|f| Some((f.get("t")?.as_str()?.to_owned(), f.get("d")?.clone()))),
    );
    *g = GatewayState {
        session_id: Some(session_id),
        sessions_started: g.sessions_started + 1,
        resumes: g.resumes,
        live: Some(Live {
            conn_id,
            tx: tx.clone(),
        }),
        ..GatewayState::default()
    };
    g.push_dispatch("READY", ready);
    for guild_create in guild_creates {
        g.push_dispatch("GUILD_CREATE", guild_create);
    }
    for (event, data) in carried {
        g.push_dispatch(&event, data);
    }
    drop(shards);
    inner.gateway_changed.notify_waiters();
    Next::Continue
}

pub(crate) fn resume(
    inner: &Inner,
    conn_id: u64,
    tx: &mpsc::UnboundedSender<Outbound>,
    d: &Value,
) -> Next {
    if !token_ok(inner, d) {
        return Next::Close(AUTHENTICATION_FAILED, "Authentication failed.");
    }
    let mut shards = lock(&inner.gateway);
    // Held RESUMEs wait with shard 0's state, whichever shard they are for.
    if shards.iter().any(|g| g.hold_resumes) {
        if let Some(first) = shards.first_mut() {
            first.held.push((conn_id, tx.clone(), d.clone()));
        }
        return Next::Continue;
    }
    let wanted = d.get("session_id").and_then(Value::as_str);
    let known = shards
        .iter_mut()
        .find(|g| g.session_id.is_some() && g.session_id.as_deref() == wanted);
    let Some(g) = known else {
        // Invalid session, not resumable: serenity re-identifies.
        let _ = tx.send(Outbound::Frame(json!({"op": 9, "d": false})));
        return Next::Continue;
    };
    let from = d.get("seq").and_then(Value::as_u64).unwrap_or(0);
    g.live = Some(Live {
        conn_id,
        tx: tx.clone(),
    });
    let missed: Vec<Value> = g
        .log
        .iter()
        .filter(|f| f["s"].as_u64().unwrap_or(0) > from)
        .cloned()
        .collect();
    for frame in missed {
        g.send_live(frame);
    }
    g.push_dispatch("RESUMED", json!({}));
    g.resumes += 1;
    drop(shards);
    inner.gateway_changed.notify_waiters();
    Next::Continue
}
