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

/// The sandbox's stand-in model (`cargo run --example sandbox`), tested here with the console.
#[path = "../../examples/sandbox/model.rs"]
mod sandbox_model;

mod browser;
mod flows;
mod harness;
mod jobs;
mod safety;
