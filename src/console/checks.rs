//! The set-up page's checks, made before anything is saved: the Discord token against
//! `users/@me` through the configured API base, and the model server by listing its models.
//! Each failure becomes one sentence telling the operator what to fix.

use serde::Deserialize;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

/// Who the token belongs to.
#[derive(Clone, Debug)]
pub struct BotAccount {
    pub id: u64,
    pub username: String,
}

#[derive(Deserialize)]
struct CurrentUser {
    id: String,
    username: String,
}

#[derive(Deserialize)]
struct ModelList {
    data: Vec<ModelEntry>,
}

#[derive(Deserialize)]
struct ModelEntry {
    id: String,
}

fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| format!("could not build an HTTP client: {e}"))
}

/// `GET {api_base}/api/v10/users/@me` with the token.
pub async fn discord_token(api_base: &str, token: &str) -> Result<BotAccount, String> {
    let token = token.trim();
    if token.is_empty() {
        return Err(
            "Paste the bot's token (Developer Portal → your application → Bot → Reset Token)."
                .into(),
        );
    }
    let url = format!("{}/api/v10/users/@me", api_base.trim_end_matches('/'));
    let response = client()?
        .get(&url)
        .header("Authorization", format!("Bot {token}"))
        .send()
        .await
        .map_err(|e| format!("Could not reach Discord at {api_base}: {e}"))?;
    let status = response.status();
    if status.as_u16() == 401 {
        return Err(
            "Discord refused this token (401 Unauthorized). Copy it again from the \
                    Developer Portal (Bot → Reset Token); a client secret or an application id \
                    is not a bot token."
                .into(),
        );
    }
    if !status.is_success() {
        return Err(format!("Discord answered {status} to the token check."));
    }
    let body = response.text().await.map_err(|e| e.to_string())?;
    let me: CurrentUser = serde_json::from_str(&body)
        .map_err(|e| format!("Discord's answer to the token check was not understood: {e}"))?;
    let id = me
        .id
        .parse()
        .map_err(|_| format!("Discord gave an odd bot id `{}`", me.id))?;
    Ok(BotAccount {
        id,
        username: me.username,
    })
}

/// `GET {base_url}/models`; both models must be there (an empty embedding model is fine).
pub async fn model_server(
    base_url: &str,
    api_key: &str,
    chat_model: &str,
    embedding_model: &str,
) -> Result<Vec<String>, String> {
    let base = base_url.trim().trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err("The model server's URL must start with http:// or https:// (for Ollama: http://localhost:11434/v1).".into());
    }
    if chat_model.trim().is_empty() {
        return Err("Name the chat model (for example gpt-4o-mini, or llama3.1 on Ollama).".into());
    }
    let mut request = client()?.get(format!("{base}/models"));
    if !api_key.trim().is_empty() {
        request = request.header("Authorization", format!("Bearer {}", api_key.trim()));
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("Could not reach the model server at {base}: {e}"))?;
    let status = response.status();
    if status.as_u16() == 401 || status.as_u16() == 403 {
        return Err(format!("The model server refused the API key ({status})."));
    }
    if !status.is_success() {
        return Err(format!(
            "The model server answered {status} when asked for {base}/models. Is the URL right (it usually ends in /v1)?"
        ));
    }
    let body = response.text().await.map_err(|e| e.to_string())?;
    let list: ModelList = serde_json::from_str(&body)
        .map_err(|e| format!("The model list from {base}/models was not understood: {e}"))?;
    let names: Vec<String> = list.data.into_iter().map(|m| m.id).collect();
    let has = |wanted: &str| {
        names
            .iter()
            .any(|n| n == wanted || n.strip_suffix(":latest") == Some(wanted))
    };
    let shown = names.join(", ");
    if !has(chat_model.trim()) {
        return Err(format!(
            "The model server has no chat model `{}` (it has: {shown}).",
            chat_model.trim()
        ));
    }
    let embedding = embedding_model.trim();
    if !embedding.is_empty() && !has(embedding) {
        return Err(format!(
            "The embedding model `{embedding}` is missing on the model server (it has: \
             {shown}). Pull it (for Ollama: `ollama pull {embedding}`), pick one it has, or \
             leave the field empty to match memories by their words instead."
        ));
    }
    Ok(names)
}
