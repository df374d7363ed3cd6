//! personabot's entry point: parse the command line, load settings, run.

use clap::{Parser, Subcommand};
use personabot::app::{self, App, Connection};
use personabot::config::{Settings, Sources};
use personabot::console::SetupFiles;
use std::process::ExitCode;

#[derive(Parser)]
#[command(version, about = "An AI persona bot for Discord")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Connect to Discord and run the bot (the default).
    Run,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Run one memory consolidation now (as the nightly job does), then exit.
    Consolidate,
    /// Read a password from standard input and print its argon2 hash for
    /// `console.password_hash`.
    HashPassword,
    /// Ask the running bot's ops server for /healthz (exit 0 when it answers 200): the
    /// container's HEALTHCHECK, with no curl in the image.
    Healthcheck,
}

fn main() -> ExitCode {
    tune_allocator();
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(run_command()),
        Err(error) => {
            eprintln!("personabot: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

/// jemalloc is the allocator of the whole process (SQLite's C code included): after a rush
/// over thousands of channels it hands back what glibc's malloc keeps fragmented between
/// long-lived blocks (process bench, 10,000 channels gone quiet: 105.7 MiB with tuned glibc,
/// 37.8 with jemalloc; Debian's mimalloc 100.6).
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read at its first allocation, before `main`: two arenas (the
/// runtime's two workers by default, more would hold more idle pages), freed pages handed
/// back after a second by its background thread. `MALLOC_CONF` in the environment still
/// overrides any of them.
#[cfg(all(feature = "jemalloc", not(target_env = "msvc"), target_os = "linux"))]
#[unsafe(export_name = "malloc_conf")]
static MALLOC_CONF: JemallocOptions = JemallocOptions(
    c"background_thread:true,narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0".as_ptr(),
);

/// `const char *malloc_conf`, as jemalloc declares it.
#[cfg(all(feature = "jemalloc", not(target_env = "msvc"), target_os = "linux"))]
#[repr(transparent)]
struct JemallocOptions(*const std::ffi::c_char);

// SAFETY: the pointer is to a 'static, immutable C string literal.
#[cfg(all(feature = "jemalloc", not(target_env = "msvc"), target_os = "linux"))]
unsafe impl Sync for JemallocOptions {}

/// Without jemalloc (the `jemalloc` feature off): glibc's malloc gives each busy thread its
/// own arena and keeps freed memory mapped, so a burst leaves the bot 15 MB larger for good.
/// Two arenas and a 128 KiB trim threshold hold it near its working set (process bench:
/// 20.3 -> 14.1 MiB anonymous after a burst). Set before the runtime's threads exist, so
/// none of them makes an arena of its own.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu", not(feature = "jemalloc")))]
    // SAFETY: mallopt only changes allocator parameters; called before any other thread
    // exists. A refused value (returns 0) leaves glibc's default.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
    }
}

async fn run_command() -> ExitCode {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    if let Some(Command::HashPassword) = cli.command {
        return hash_password();
    }
    let settings = match Settings::load(Sources::from_process()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("personabot: {error}");
            return ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Run);
    if let Command::Healthcheck = command {
        return healthcheck(&settings).await;
    }
    personabot::telemetry::init(&settings.telemetry);
    let outcome = match command {
        Command::Migrate => app::open_store(&settings)
            .await
            .map(|_| tracing::info!("database is up to date")),
        Command::Run => run(settings).await,
        Command::Consolidate => consolidate(settings).await,
        Command::HashPassword => Ok(()),
        Command::Healthcheck => Ok(()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("personabot: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings) -> anyhow::Result<()> {
    // Listening before the start: a SIGTERM during start-up still shuts down gracefully.
    let signal = personabot::shutdown::signal();
    tokio::pin!(signal);
    // With no token the console's set-up page supplies one; a signal meanwhile just exits.
    let launch = app::launch::launch(settings, SetupFiles::default()).await?;
    let app = tokio::select! {
        app = launch.into_app() => app?,
        () = &mut signal => return Ok(()),
    };
    release_startup_code(&app);
    app.run_until(signal).await
}

/// Once connected and past the first guild events and command registration, the code that
/// only start-up runs is unmapped (see `telemetry::memory`): most of an idle bot's resident
/// memory is its own program text.
fn release_startup_code(app: &App) {
    let mut ready = app.ready_signal();
    tokio::spawn(async move {
        if ready.wait_for(|r| *r).await.is_ok() {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            let _ = tokio::task::spawn_blocking(personabot::telemetry::memory::release_idle_memory)
                .await;
        }
    });
}

fn hash_password() -> ExitCode {
    let mut line = String::new();
    eprintln!("password (one line on standard input):");
    if std::io::stdin().read_line(&mut line).is_err() || line.trim().is_empty() {
        eprintln!("personabot: no password given");
        return ExitCode::FAILURE;
    }
    match personabot::console::hash_password(line.trim_end_matches(['\r', '\n'])) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("personabot: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn consolidate(settings: Settings) -> anyhow::Result<()> {
    let app = App::start_with(settings, Connection::Offline).await?;
    let outcome = app
        .consolidator
        .run_now(std::time::Duration::from_secs(24 * 3600))
        .await;
    app.shutdown().await?;
    let report = outcome?.map_err(anyhow::Error::msg)?;
    println!(
        "consolidated: {} members, {} facts added, {} bumped, {} superseded, {} messages archived",
        report.users_done,
        report.facts_added,
        report.facts_bumped,
        report.facts_superseded,
        report.messages_archived
    );
    Ok(())
}

/// GET /healthz on `ops.listen` (a wildcard address is asked on loopback).
async fn healthcheck(settings: &Settings) -> ExitCode {
    let Some(listen) = settings.ops.listen_addr() else {
        eprintln!("personabot: ops.listen is empty: no ops server to ask");
        return ExitCode::from(2);
    };
    let local = listen
        .replace("0.0.0.0:", "127.0.0.1:")
        .replace("[::]:", "[::1]:");
    let asked = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()
        .map(|client| client.get(format!("http://{local}/healthz")).send());
    match asked {
        Ok(request) => match request.await {
            Ok(response) if response.status().is_success() => ExitCode::SUCCESS,
            Ok(response) => {
                eprintln!("personabot: /healthz answered {}", response.status());
                ExitCode::FAILURE
            }
            Err(error) => {
                eprintln!("personabot: /healthz on {local}: {error}");
                ExitCode::FAILURE
            }
        },
        Err(error) => {
            eprintln!("personabot: {error}");
            ExitCode::FAILURE
        }
    }
}
