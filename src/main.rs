//! personabot's entry point: parse the command line, load settings, run.

use clap::{Parser, Subcommand};
use personabot::app::{self, App};
use personabot::config::{Settings, Sources};
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
}

#[tokio::main]
async fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let settings = match Settings::load(Sources::from_process()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("personabot: {error}");
            return ExitCode::from(2);
        }
    };
    personabot::telemetry::init(&settings.telemetry);
    let outcome = match cli.command.unwrap_or(Command::Run) {
        Command::Migrate => app::open_store(&settings)
            .await
            .map(|_| tracing::info!("database is up to date")),
        Command::Run => run(settings).await,
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
    settings.require_token()?;
    let app = App::start(settings).await?;
    app.run_until(app::shutdown_signal()).await
}
