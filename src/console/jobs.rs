//! Jobs started from the console (a consolidation run, a new status line) and how they
//! went, for the activity page.

use chrono::Utc;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Clone, Debug, Serialize)]
pub struct JobState {
    pub running: bool,
    pub since: String,
    pub outcome: Option<String>,
    pub failed: bool,
}

/// The jobs started from the console and how they went.
#[derive(Default)]
pub struct Jobs(Mutex<BTreeMap<&'static str, JobState>>);

impl Jobs {
    fn set(&self, name: &'static str, state: JobState) {
        if let Ok(mut jobs) = self.0.lock() {
            jobs.insert(name, state);
        }
    }

    pub fn all(&self) -> BTreeMap<&'static str, JobState> {
        self.0.lock().map(|j| j.clone()).unwrap_or_default()
    }

    /// Marks `name` running; false when it already is.
    pub fn start(&self, name: &'static str) -> bool {
        let Ok(mut jobs) = self.0.lock() else {
            return false;
        };
        if jobs.get(name).is_some_and(|j| j.running) {
            return false;
        }
        jobs.insert(
            name,
            JobState {
                running: true,
                since: Utc::now().format("%H:%M:%S").to_string(),
                outcome: None,
                failed: false,
            },
        );
        true
    }

    pub fn finish(&self, name: &'static str, outcome: Result<String, String>) {
        let failed = outcome.is_err();
        self.set(
            name,
            JobState {
                running: false,
                since: Utc::now().format("%H:%M:%S").to_string(),
                outcome: Some(outcome.unwrap_or_else(|e| e)),
                failed,
            },
        );
    }
}
