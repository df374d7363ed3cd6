//! First run: the page that turns a fresh clone into a running bot. The operator gives the
//! Discord token, the model server and the bot's name; both are checked (`checks`) before
//! anything is written; then `.env` (mode 0600: it holds the token) gets the secrets and the
//! setting overrides, and the new settings are handed to whoever waits in
//! `Console::wait_for_setup`, which starts the bot in the same process.

use super::auth::Authed;
use super::sessions::SessionInfo;
use super::setup_state::Phase;
use super::state::Shared;
use super::{checks, view};
use crate::config::{API_KEY_VAR, Settings, TOKEN_VAR};
use crate::domain::invite::{INVITE_PERMISSIONS, INVITE_SCOPES, invite_url};
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

#[derive(Deserialize, Serialize, Default)]
pub struct SetupForm {
    #[serde(default)]
    discord_token: String,
    #[serde(default)]
    llm_base_url: String,
    #[serde(default)]
    llm_api_key: String,
    #[serde(default)]
    chat_model: String,
    #[serde(default)]
    embedding_model: String,
    #[serde(default)]
    bot_name: String,
}

fn defaults(settings: &Settings) -> SetupForm {
    SetupForm {
        llm_base_url: settings.llm.base_url.clone(),
        chat_model: settings.llm.chat_model.clone(),
        embedding_model: settings.llm.embedding_model.clone(),
        bot_name: settings.bot.name.clone(),
        ..SetupForm::default()
    }
}

fn permissions() -> Vec<&'static str> {
    INVITE_PERMISSIONS.iter().map(|(_, why)| *why).collect()
}

pub async fn page(State(shared): State<Arc<Shared>>, Authed(session): Authed) -> Response {
    let phase = shared
        .setup
        .phase
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    if let Phase::Done { invite, account } = phase {
        // Configured before this start: the running bot's identity gives the invite link.
        let running = shared
            .bot()
            .and_then(|bot| bot.identity.read().ok().and_then(|i| i.clone()));
        let invite = match (invite.is_empty(), running) {
            (true, Some(me)) => invite_url(me.id.0),
            _ => invite,
        };
        return done_page(&shared, &session, &invite, &account);
    }
    let form = {
        let base = shared
            .setup
            .base
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        defaults(&base)
    };
    form_page(&shared, &session, &form, None)
}

fn form_page(
    shared: &Shared,
    session: &SessionInfo,
    form: &SetupForm,
    error: Option<(&str, String)>,
) -> Response {
    let (field, message) = error.map_or((None, None), |(f, m)| (Some(f), Some(m)));
    let api_base = shared
        .setup
        .base
        .lock()
        .map(|b| b.discord.api_base.clone())
        .unwrap_or_default();
    shared.pages.render(
        "setup.html",
        &view::Frame::new(session, "Set up", "setup"),
        minijinja::context! {
            form => form,
            error_field => field,
            error => message,
            api_base => api_base,
        },
    )
}

fn done_page(shared: &Shared, session: &SessionInfo, invite: &str, account: &str) -> Response {
    shared.pages.render(
        "setup_done.html",
        &view::Frame::new(session, "Set up", "setup"),
        minijinja::context! {
            invite => invite,
            account => account,
            scopes => INVITE_SCOPES,
            permissions => permissions(),
        },
    )
}

pub async fn save(
    State(shared): State<Arc<Shared>>,
    Authed(session): Authed,
    Form(form): Form<SetupForm>,
) -> Response {
    if !shared.setup.is_waiting() {
        return Redirect::to("/setup").into_response();
    }
    let base = shared
        .setup
        .base
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let account = match checks::discord_token(&base.discord.api_base, &form.discord_token).await {
        Ok(account) => account,
        Err(why) => {
            return form_page(
                &shared,
                &session,
                &blank_secrets(form),
                Some(("discord_token", why)),
            );
        }
    };
    if let Err(why) = checks::model_server(
        &form.llm_base_url,
        &form.llm_api_key,
        &form.chat_model,
        &form.embedding_model,
    )
    .await
    {
        return form_page(&shared, &session, &blank_secrets(form), Some(("llm", why)));
    }
    let name = form.bot_name.trim();
    if name.is_empty() || name.chars().count() > 32 {
        return form_page(
            &shared,
            &session,
            &blank_secrets(form),
            Some((
                "bot_name",
                "Give the bot a name of 1 to 32 characters.".into(),
            )),
        );
    }
    let mut settings = base;
    settings.discord.token = Some(SecretString::from(form.discord_token.trim().to_owned()));
    let key = form.llm_api_key.trim();
    settings.llm.api_key = (!key.is_empty()).then(|| SecretString::from(key.to_owned()));
    settings.llm.base_url = form.llm_base_url.trim().trim_end_matches('/').to_owned();
    settings.llm.chat_model = form.chat_model.trim().to_owned();
    settings.llm.embedding_model = form.embedding_model.trim().to_owned();
    settings.bot.name = name.to_owned();
    let lines = [
        (TOKEN_VAR, form.discord_token.trim()),
        (API_KEY_VAR, key),
        ("PERSONABOT__LLM__BASE_URL", settings.llm.base_url.as_str()),
        (
            "PERSONABOT__LLM__CHAT_MODEL",
            settings.llm.chat_model.as_str(),
        ),
        (
            "PERSONABOT__LLM__EMBEDDING_MODEL",
            settings.llm.embedding_model.as_str(),
        ),
        ("PERSONABOT__BOT__NAME", settings.bot.name.as_str()),
    ];
    if let Err(error) = write_env(&shared.setup.files.env_file, &lines) {
        let why = format!(
            "Everything checked out, but {} could not be written: {error}",
            shared.setup.files.env_file.display()
        );
        return form_page(&shared, &session, &blank_secrets(form), Some(("save", why)));
    }
    tracing::info!(bot = %account.username, "console: set-up saved; starting the bot");
    let invite = invite_url(account.id);
    if let Ok(mut phase) = shared.setup.phase.lock() {
        *phase = Phase::Done {
            invite: invite.clone(),
            account: account.username.clone(),
        };
    }
    shared.setup.done.send_replace(Some(settings));
    done_page(&shared, &session, &invite, &account.username)
}

/// The form shown again after a failed check: secrets are never echoed into the page.
fn blank_secrets(form: SetupForm) -> SetupForm {
    SetupForm {
        discord_token: String::new(),
        llm_api_key: String::new(),
        ..form
    }
}

/// Sets `lines` in the env file (other lines kept), written whole to a new file created
/// with mode 0600 and renamed over the old one.
pub fn write_env(path: &Path, lines: &[(&str, &str)]) -> std::io::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let mut out: Vec<String> = old
        .lines()
        .filter(|l| {
            let key = l.split('=').next().unwrap_or_default().trim();
            !lines.iter().any(|(k, _)| *k == key)
        })
        .map(str::to_owned)
        .collect();
    for (key, value) in lines {
        if !value.is_empty() {
            out.push(format!("{key}={}", quote(value)));
        }
    }
    let tmp = path.with_extension("env.tmp");
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all((out.join("\n") + "\n").as_bytes())?;
        file.sync_all()?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, path)
}

/// A value as dotenv reads it back: quoted when it has spaces, quotes or `#`.
fn quote(value: &str) -> String {
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.:/@+,".contains(c))
    {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', ""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_is_private_and_keeps_other_lines() {
        let dir = std::env::temp_dir().join(format!("pb-env-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join(".env");
        std::fs::write(&path, "OTHER=1\nPERSONABOT__BOT__NAME=Old\n").expect("write");
        write_env(
            &path,
            &[
                ("PERSONABOT__BOT__NAME", "New Name"),
                (TOKEN_VAR, "abc.def"),
            ],
        )
        .expect("written");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            format!("OTHER=1\nPERSONABOT__BOT__NAME='New Name'\n{TOKEN_VAR}=abc.def\n")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
