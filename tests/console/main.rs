//! The web console in a real headless browser: chromium driven over WebDriver
//! (`chromedriver`, `fantoccini`), against the real app wired to the fake Discord and fake
//! OpenAI server, on SQLite and PostgreSQL. Each test saves a screenshot of its page under
//! `target/screenshots/`. Needs Debian's `chromium` and `chromium-driver` (`.ci/run`
//! installs them).

#[path = "../common/mod.rs"]
mod common;
#[allow(dead_code)]
#[path = "../e2e/support.rs"]
mod support;

mod browser;
mod harness;
mod flows;
mod safety;
