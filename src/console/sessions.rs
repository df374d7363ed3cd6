//! Sessions and the ways in: every browser gets a session (a random id in an HttpOnly,
//! SameSite=Strict cookie) carrying its CSRF token; the current one-time code (used once; a
//! new one is logged after each login) or the argon2-hashed password marks a new session as
//! the operator's. In memory only: a restart logs everyone out and prints a fresh code.

use super::error::ConsoleError;
use crate::config::ConsoleSettings;
use argon2::{Argon2, PasswordHash, PasswordVerifier};
use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use rand::Rng;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub const COOKIE_NAME: &str = "pb_session";
/// Sessions kept at most (the oldest go first), so a flood of cookie-less requests cannot
/// grow memory without bound.
const MAX_SESSIONS: usize = 1_000;
/// A logged-in session lasts this long.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// What handlers see of the caller's session.
#[derive(Clone, Debug)]
pub struct SessionInfo {
    pub id: String,
    pub csrf: String,
    pub authed: bool,
}

struct Session {
    csrf: String,
    authed: bool,
    created: Instant,
}

pub struct Sessions {
    sessions: Mutex<HashMap<String, Session>>,
    code: Mutex<String>,
    password: Option<String>,
    /// When recent logins failed: past `MAX_FAILURES` in `FAILURE_WINDOW`, every login is
    /// refused until the window moves on (guessing a code or password stays hopeless).
    failures: Mutex<VecDeque<Instant>>,
}

/// Failed logins allowed per `FAILURE_WINDOW`.
const MAX_FAILURES: usize = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Eight characters that are easy to read aloud and type: `ABCD-2345`.
fn new_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let mut code: String = (0..8)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    code.insert(4, '-');
    code
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Sessions {
    pub fn new(settings: &ConsoleSettings) -> Result<Self, ConsoleError> {
        let hash = settings.password_hash.trim();
        let password = if hash.is_empty() {
            None
        } else {
            PasswordHash::new(hash).map_err(|e| ConsoleError::BadPasswordHash(e.to_string()))?;
            Some(hash.to_owned())
        };
        Ok(Self {
            sessions: Mutex::new(HashMap::new()),
            code: Mutex::new(new_code()),
            password,
            failures: Mutex::new(VecDeque::new()),
        })
    }

    pub fn current_code(&self) -> String {
        lock(&self.code).clone()
    }

    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    pub fn get(&self, id: &str) -> Option<SessionInfo> {
        let sessions = lock(&self.sessions);
        let s = sessions.get(id)?;
        let expired = s.authed && s.created.elapsed() > SESSION_LIFETIME;
        (!expired).then(|| SessionInfo {
            id: id.to_owned(),
            csrf: s.csrf.clone(),
            authed: s.authed,
        })
    }

    pub fn create(&self, authed: bool) -> SessionInfo {
        let mut sessions = lock(&self.sessions);
        if sessions.len() >= MAX_SESSIONS {
            let oldest = sessions
                .iter()
                .min_by_key(|(_, s)| (s.authed, s.created))
                .map(|(id, _)| id.clone());
            if let Some(id) = oldest {
                sessions.remove(&id);
            }
        }
        let info = SessionInfo {
            id: random_token(40),
            csrf: random_token(40),
            authed,
        };
        sessions.insert(
            info.id.clone(),
            Session {
                csrf: info.csrf.clone(),
                authed,
                created: Instant::now(),
            },
        );
        info
    }

    pub fn remove(&self, id: &str) {
        lock(&self.sessions).remove(id);
    }

    /// Checks a code or password; a used code is replaced (and the new one logged).
    pub fn check_login(&self, code: &str, password: &str) -> bool {
        let now = Instant::now();
        {
            let mut failures = lock(&self.failures);
            while failures
                .front()
                .is_some_and(|t| now.duration_since(*t) > FAILURE_WINDOW)
            {
                failures.pop_front();
            }
            if failures.len() >= MAX_FAILURES {
                tracing::warn!("console: too many failed logins; refusing logins for a minute");
                return false;
            }
        }
        let ok = self.verify(code, password);
        if !ok {
            lock(&self.failures).push_back(now);
        }
        ok
    }

    fn verify(&self, code: &str, password: &str) -> bool {
        let code = code.trim().to_ascii_uppercase();
        if !code.is_empty() {
            let mut current = lock(&self.code);
            if constant_time_eq(code.as_bytes(), current.as_bytes()) {
                *current = new_code();
                tracing::info!(code = %current, "console login code used; the next one is {current}");
                return true;
            }
        }
        match (&self.password, password.is_empty()) {
            (Some(hash), false) => PasswordHash::new(hash).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            }),
            _ => false,
        }
    }
}

/// Equal-length comparison that does not stop at the first difference.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
}

pub fn set_cookie(id: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_LIFETIME.as_secs()
    ))
    .ok()
}

/// `personabot hash-password`: an argon2 hash for `console.password_hash`.
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    Argon2::default()
        .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(hash: &str) -> ConsoleSettings {
        ConsoleSettings {
            enabled: true,
            listen: "127.0.0.1:0".into(),
            password_hash: hash.into(),
        }
    }

    #[test]
    fn a_code_works_once_and_a_password_always() {
        let hash = hash_password("hunter22").expect("hash");
        let sessions = Sessions::new(&settings(&hash)).expect("valid hash");
        let code = sessions.current_code();
        assert!(sessions.check_login(&code.to_lowercase(), ""));
        assert!(!sessions.check_login(&code, ""), "a code is used once");
        assert_ne!(sessions.current_code(), code);
        assert!(sessions.check_login("", "hunter22"));
        assert!(!sessions.check_login("", "hunter2"));
        assert!(Sessions::new(&settings("not a hash")).is_err());
    }

    #[test]
    fn guessing_is_throttled() {
        let sessions = Sessions::new(&settings("")).expect("no password");
        for _ in 0..MAX_FAILURES {
            assert!(!sessions.check_login("AAAA-AAAA", ""));
        }
        let code = sessions.current_code();
        assert!(
            !sessions.check_login(&code, ""),
            "even the right code waits after a burst of wrong ones"
        );
    }

    #[test]
    fn reads_the_session_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=1; pb_session=xyz; b=2"));
        assert_eq!(cookie_value(&headers).as_deref(), Some("xyz"));
        let cookie = set_cookie("xyz").expect("valid");
        let cookie = cookie.to_str().expect("ascii");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    }
}
