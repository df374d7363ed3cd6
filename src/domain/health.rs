//! Readiness as a pure rule: is the bot able to do its work right now? It is, when the
//! gateway session is connected (every shard of this process), the database answered its
//! last ping, and the model server answered within the last minute without failing since.
//! The inputs are what the adapters last saw (kept current by them, see
//! `telemetry::vitals`), so deciding costs nothing and `/readyz` stays cheap.

use std::time::Duration;

/// What the model server did lately, as ages (time since; `None`: never).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelContact {
    /// Since the server last answered (any answer: even a refusal shows it is up).
    pub answered: Option<Duration>,
    /// Since a call last failed as an outage does (timeout, 5xx, 429, unreachable).
    pub failed: Option<Duration>,
}

/// Everything readiness is decided from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthInputs {
    /// `None`: this process runs no gateway (nothing to wait for). Otherwise each known
    /// shard and whether its session is connected.
    pub shards: Option<Vec<(u32, bool)>>,
    /// The last database ping: `None` not yet, `Some(false)` failed.
    pub database: Option<bool>,
    pub model: ModelContact,
    /// How recent a model answer must be.
    pub model_window: Duration,
    /// What the model server last refused that only its operator can fix (a wrong key,
    /// no such model), until a call succeeds.
    pub model_refusal: Option<String>,
}

/// One check's verdict, with a line for the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readiness {
    pub ready: bool,
    pub checks: Vec<Check>,
}

impl Readiness {
    /// `ready` or `unready`, then one line per check.
    pub fn report(&self) -> String {
        let mut out = String::from(if self.ready { "ready\n" } else { "unready\n" });
        for check in &self.checks {
            let verdict = if check.ok { "ok" } else { "FAIL" };
            out.push_str(&format!("{} {verdict}: {}\n", check.name, check.detail));
        }
        out
    }
}

pub fn readiness(vitals: &HealthInputs) -> Readiness {
    let checks = vec![
        gateway(vitals.shards.as_deref()),
        database(vitals.database),
        match &vitals.model_refusal {
            Some(what) => check(
                "model",
                false,
                format!("the server refuses: {what} (retried slowly until the operator fixes it)"),
            ),
            None => model(vitals.model, vitals.model_window),
        },
    ];
    Readiness {
        ready: checks.iter().all(|c| c.ok),
        checks,
    }
}

fn check(name: &'static str, ok: bool, detail: String) -> Check {
    Check { name, ok, detail }
}

fn gateway(shards: Option<&[(u32, bool)]>) -> Check {
    let Some(shards) = shards else {
        return check("gateway", true, "not used by this process".into());
    };
    let down: Vec<String> = shards
        .iter()
        .filter(|(_, up)| !up)
        .map(|(id, _)| id.to_string())
        .collect();
    match (shards.len(), down.is_empty()) {
        (0, _) => check("gateway", false, "not connected yet".into()),
        (n, true) => check("gateway", true, format!("{n} shard(s) connected")),
        (_, false) => check(
            "gateway",
            false,
            format!("shard(s) {} not connected", down.join(", ")),
        ),
    }
}

fn database(last_ping: Option<bool>) -> Check {
    match last_ping {
        Some(true) => check("database", true, "answered".into()),
        Some(false) => check("database", false, "did not answer its ping".into()),
        None => check("database", false, "not checked yet".into()),
    }
}

fn model(contact: ModelContact, window: Duration) -> Check {
    let secs = |d: Duration| d.as_secs();
    match (contact.answered, contact.failed) {
        (answered, Some(failed)) if failed <= window && answered.is_none_or(|a| failed < a) => {
            check(
                "model",
                false,
                format!("failing (last failure {} s ago)", secs(failed)),
            )
        }
        (Some(answered), _) if answered <= window => {
            check("model", true, format!("answered {} s ago", secs(answered)))
        }
        (Some(answered), _) => check(
            "model",
            false,
            format!(
                "no answer within {} s (last {} s ago)",
                secs(window),
                secs(answered)
            ),
        ),
        (None, _) => check("model", false, "not reached yet".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_says_what_the_server_refused() {
        let mut v = healthy();
        v.model_refusal = Some("the model server answered 401 Unauthorized: bad key".into());
        let r = readiness(&v);
        assert!(!r.ready);
        assert!(
            r.report()
                .contains("model FAIL: the server refuses: the model server answered 401"),
            "{}",
            r.report()
        );
    }

    const MINUTE: Duration = Duration::from_secs(60);

    fn healthy() -> HealthInputs {
        HealthInputs {
            shards: Some(vec![(0, true)]),
            database: Some(true),
            model: ModelContact {
                answered: Some(Duration::from_secs(3)),
                failed: None,
            },
            model_window: MINUTE,
            model_refusal: None,
        }
    }

    fn failing(vitals: &HealthInputs) -> Vec<&'static str> {
        let r = readiness(vitals);
        assert_eq!(r.ready, r.checks.iter().all(|c| c.ok));
        r.checks.iter().filter(|c| !c.ok).map(|c| c.name).collect()
    }

    #[test]
    fn all_three_up_is_ready() {
        let r = readiness(&healthy());
        assert!(r.ready, "{}", r.report());
        assert!(r.report().starts_with("ready\n"));
    }

    #[test]
    fn a_shard_down_or_none_yet_is_unready() {
        let mut v = healthy();
        v.shards = Some(vec![(0, true), (1, false)]);
        assert_eq!(failing(&v), ["gateway"]);
        assert!(readiness(&v).report().contains("shard(s) 1 not connected"));
        v.shards = Some(vec![]);
        assert_eq!(failing(&v), ["gateway"]);
        v.shards = None;
        assert!(failing(&v).is_empty(), "no gateway in this process");
    }

    #[test]
    fn database_must_have_answered_its_last_ping() {
        let mut v = healthy();
        v.database = Some(false);
        assert_eq!(failing(&v), ["database"]);
        v.database = None;
        assert_eq!(failing(&v), ["database"]);
    }

    #[test]
    fn model_must_have_answered_within_the_window_and_not_failed_since() {
        let mut v = healthy();
        v.model = ModelContact {
            answered: Some(Duration::from_secs(30)),
            failed: Some(Duration::from_secs(5)),
        };
        assert_eq!(failing(&v), ["model"], "failed after its last answer");
        v.model.failed = Some(Duration::from_secs(40));
        assert!(failing(&v).is_empty(), "answered since the failure");
        v.model = ModelContact {
            answered: Some(Duration::from_secs(61)),
            failed: None,
        };
        assert_eq!(failing(&v), ["model"], "no answer within the minute");
        v.model = ModelContact {
            answered: Some(Duration::from_secs(90)),
            failed: Some(Duration::from_secs(70)),
        };
        assert_eq!(failing(&v), ["model"], "stale, the failure too");
        v.model = ModelContact::default();
        assert_eq!(failing(&v), ["model"], "never reached");
    }

    #[test]
    fn everything_down_lists_every_check() {
        let v = HealthInputs {
            shards: Some(vec![(0, false)]),
            database: Some(false),
            model: ModelContact::default(),
            model_window: MINUTE,
            model_refusal: None,
        };
        assert_eq!(failing(&v), ["gateway", "database", "model"]);
    }
}
