use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The pan-Canadian identity broker.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate a registry file and print every problem found; exits non-zero on any.
    CheckRegistry {
        /// The registry TOML file.
        file: PathBuf,
    },
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckRegistry { file } => {
            let ok = broker::cli::check_registry::run(&file, &mut std::io::stdout().lock())?;
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
