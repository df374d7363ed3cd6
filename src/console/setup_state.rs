//! Where first-run set-up stands: the settings it starts from, where it writes, and
//! whether the bot is configured yet.

use crate::config::Settings;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Mutex;
use tokio::sync::watch;

/// Where set-up writes.
#[derive(Clone, Debug)]
pub struct SetupFiles {
    /// The `.env` file `main` loads at start (secrets and overrides).
    pub env_file: PathBuf,
}

impl Default for SetupFiles {
    fn default() -> Self {
        Self {
            env_file: PathBuf::from(".env"),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub enum Phase {
    /// No token yet: the form.
    #[default]
    Waiting,
    /// Saved; the bot is starting or running.
    Done { invite: String, account: String },
}

pub struct Setup {
    pub base: Mutex<Settings>,
    pub files: SetupFiles,
    pub done: watch::Sender<Option<Settings>>,
    pub phase: Mutex<Phase>,
}

impl Setup {
    pub fn new(base: Settings, files: SetupFiles) -> (Self, watch::Receiver<Option<Settings>>) {
        let (done, rx) = watch::channel(None);
        let phase = if base.discord.token.is_some() {
            Phase::Done {
                invite: String::new(),
                account: String::new(),
            }
        } else {
            Phase::Waiting
        };
        let setup = Self {
            base: Mutex::new(base),
            files,
            done,
            phase: Mutex::new(phase),
        };
        (setup, rx)
    }

    /// The bot runs (set up now or configured before).
    pub fn mark_running(&self) {
        let mut phase = self
            .phase
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if matches!(*phase, Phase::Waiting) {
            *phase = Phase::Done {
                invite: String::new(),
                account: String::new(),
            };
        }
    }

    pub fn is_waiting(&self) -> bool {
        matches!(
            *self
                .phase
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            Phase::Waiting
        )
    }
}
