//! Asking the model server what it is: a handful of cheap GETs at the first model call,
//! each bounded, none required. The rules that read the answers are
//! `domain::model_server`; this file only fetches them.

use crate::domain::model_server::{ProbeAnswers, ProfileOverrides, ServerProfile, profile_from};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::time::Duration;

/// One probe waits at most this long: a server that is slow to say what it is gets the
/// defaults rather than delaying the first reply.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// What the probes need.
pub struct ProbeTarget<'a> {
    pub http: &'a reqwest::Client,
    pub base_url: &'a str,
    pub api_key: &'a SecretString,
    pub chat_model: &'a str,
    pub embedding_model: Option<&'a str>,
    pub overrides: &'a ProfileOverrides,
}

/// The server's profile; never fails (a server that answers nothing gets safe defaults).
pub async fn discover(target: ProbeTarget<'_>) -> ServerProfile {
    let base = target.base_url.trim_end_matches('/');
    let root = base.strip_suffix("/v1").unwrap_or(base);
    let mut answers = ProbeAnswers {
        base_url: base.to_owned(),
        ..Default::default()
    };
    let hosted_openai = base.contains("api.openai.com");
    let get = |url: String| get_json(target.http, url, target.api_key);
    if hosted_openai {
        answers.models = get(format!("{base}/models")).await;
    } else {
        let (models, props, version, lmstudio) = tokio::join!(
            get(format!("{base}/models")),
            get(format!("{root}/props")),
            get(format!("{root}/api/version")),
            get(format!("{root}/api/v0/models")),
        );
        answers.models = models;
        answers.llamacpp_props = props;
        answers.ollama_version = version;
        answers.lmstudio_models = lmstudio;
        if answers.ollama_version.is_some() {
            answers.ollama_show = post_json(
                target.http,
                format!("{root}/api/show"),
                serde_json::json!({ "model": target.chat_model }),
            )
            .await;
        }
    }
    let profile = profile_from(
        &answers,
        target.chat_model,
        target.embedding_model,
        target.overrides,
    );
    tracing::info!(profile = %profile.summary(), "model server profile");
    profile
}

async fn get_json(http: &reqwest::Client, url: String, key: &SecretString) -> Option<Value> {
    let request = http
        .get(&url)
        .bearer_auth(key.expose_secret())
        .timeout(PROBE_TIMEOUT);
    json_of(request.send().await).await
}

async fn post_json(http: &reqwest::Client, url: String, body: Value) -> Option<Value> {
    let request = http
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .timeout(PROBE_TIMEOUT);
    json_of(request.send().await).await
}

async fn json_of(response: Result<reqwest::Response, reqwest::Error>) -> Option<Value> {
    let response = response.ok()?;
    if !response.status().is_success() {
        return None;
    }
    // A probe's answer is small; anything large is not what we asked for.
    let bytes = response.bytes().await.ok()?;
    if bytes.len() > 4 * 1024 * 1024 {
        return None;
    }
    serde_json::from_slice(&bytes).ok()
}
