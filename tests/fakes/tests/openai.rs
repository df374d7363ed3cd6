//! The fake OpenAI server over HTTP, with the response shapes async-openai parses.

use std::time::Duration;

use fakes::openai::cosine;
use fakes::{FakeOpenAi, Reply, Rule};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(5);

async fn post(ai: &FakeOpenAi, path: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{path}", ai.base_url()))
        .bearer_auth("sk-fake")
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn chat(system: &str, user: &str) -> Value {
    json!({"model": "fake", "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]})
}

async fn embed(ai: &FakeOpenAi, input: Value) -> Vec<Vec<f32>> {
    let v: Value = post(
        ai,
        "/embeddings",
        json!({"model": "fake-embed", "input": input}),
    )
    .await
    .json()
    .await
    .unwrap();
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["embedding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn default_text_and_scripted_rules() {
    let ai = FakeOpenAi::start().await;
    let v: Value = post(&ai, "/chat/completions", chat("You are Persona.", "hello"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(
        v["choices"][0]["message"],
        json!({"role": "assistant", "content": "Hello from the fake model.", "refusal": null})
    );
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert!(v["usage"]["total_tokens"].as_u64().unwrap() > 0);

    ai.script(
        Rule::when_last_user_contains("weather")
            .reply(Reply::text("Sunny!"))
            .times(1),
    );
    ai.script(
        Rule::when_prompt_contains("JSON please").reply(Reply::json(json!({"mood": "happy"}))),
    );
    let v: Value = post(&ai, "/chat/completions", chat("sys", "what's the weather?"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "Sunny!");
    let v: Value = post(&ai, "/chat/completions", chat("sys", "what's the weather?"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["choices"][0]["message"]["content"], "Hello from the fake model.",
        "times(1) rule is used up"
    );
    let v: Value = post(&ai, "/chat/completions", chat("JSON please", "x"))
        .await
        .json()
        .await
        .unwrap();
    let content: Value =
        serde_json::from_str(v["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(content, json!({"mood": "happy"}));

    ai.set_default(Reply::text("new default"));
    let v: Value = post(&ai, "/chat/completions", chat("s", "u"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "new default");

    let req = ai
        .wait_for_request(|r| r.last_user_text() == "u", T)
        .await
        .unwrap();
    assert_eq!(req.system_text(), "s");
    assert_eq!(req.prompt_text(), "s\nu");
    assert_eq!(req.headers["authorization"], "Bearer sk-fake");
    assert_eq!(ai.chat_requests().len(), 5);

    let models: Value = reqwest::get(format!("{}/models", ai.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["data"][0]["id"], "fake");
}

#[tokio::test]
async fn streaming_sends_sse_chunks_then_done() {
    let ai = FakeOpenAi::start().await;
    ai.script(Rule::any().reply(Reply::text("one two three four five six seven")));
    let mut body = chat("s", "stream it");
    body["stream"] = json!(true);
    let r = post(&ai, "/chat/completions", body).await;
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let text = r.text().await.unwrap();
    let events: Vec<&str> = text
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| e.strip_prefix("data: ").unwrap())
        .collect();
    assert_eq!(events.last(), Some(&"[DONE]"));
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert!(chunks.len() >= 3);
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let joined: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(joined, "one two three four five six seven");
    let last = chunks.last().unwrap();
    assert_eq!(
        (
            last["choices"][0]["finish_reason"].as_str(),
            &last["choices"][0]["delta"]
        ),
        (Some("stop"), &json!({}))
    );
    assert!(ai.requests()[0].is_stream());
}

#[tokio::test]
async fn embeddings_are_close_for_shared_words() {
    let ai = FakeOpenAi::start().await;
    let v = embed(
        &ai,
        json!([
            "Alice loves hiking in the mountains",
            "alice went hiking mountains",
            "The quarterly tax invoice is overdue"
        ]),
    )
    .await;
    assert_eq!(v.len(), 3);
    assert_eq!(v[0].len(), 256);
    assert!(cosine(&v[0], &v[1]) > 0.5, "{}", cosine(&v[0], &v[1]));
    assert!(cosine(&v[0], &v[2]).abs() < 0.2, "{}", cosine(&v[0], &v[2]));
    let single = embed(&ai, json!("Alice loves hiking in the mountains")).await;
    assert_eq!(single[0], v[0], "deterministic");
    // A text rule never answers embeddings.
    ai.script(Rule::any().reply(Reply::text("not an embedding")));
    assert_eq!(embed(&ai, json!("x y z")).await.len(), 1);
}

#[tokio::test]
async fn scripted_failures() {
    let ai = FakeOpenAi::start().await;
    ai.script(
        Rule::when_prompt_contains("bad")
            .reply(Reply::status(400, "Invalid prompt"))
            .times(1),
    );
    ai.script(
        Rule::when_prompt_contains("slow down")
            .reply(Reply::RateLimited {
                retry_after_secs: 3,
            })
            .times(1),
    );
    ai.script(
        Rule::when_prompt_contains("garbage")
            .reply(Reply::Malformed)
            .times(1),
    );
    ai.script(Rule::when_prompt_contains("boom").reply(Reply::status(500, "oops")));
    ai.script(Rule::when_prompt_contains("wait").reply(Reply::delayed(
        Duration::from_millis(50),
        Reply::text("waited"),
    )));
    ai.script(Rule::when_prompt_contains("never").reply(Reply::Hang));

    let r = post(&ai, "/chat/completions", chat("s", "bad")).await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["message"], "Invalid prompt");
    assert!(e["error"].get("param").is_some() && e["error"].get("code").is_some());

    let r = post(&ai, "/chat/completions", chat("s", "slow down")).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "3");

    let r = post(&ai, "/chat/completions", chat("s", "garbage")).await;
    assert_eq!(r.status(), 200);
    assert!(r.json::<Value>().await.is_err());

    // Error rules apply to embeddings too (matched on the input text).
    let r = post(&ai, "/embeddings", json!({"model": "e", "input": "boom"})).await;
    assert_eq!(r.status(), 500);

    let v: Value = post(&ai, "/chat/completions", chat("s", "wait"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "waited");

    let hang = tokio::time::timeout(
        Duration::from_millis(100),
        post(&ai, "/chat/completions", chat("s", "never")),
    )
    .await;
    assert!(hang.is_err(), "Hang never answers");
}
