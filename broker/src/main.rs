use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: a login allocates and frees many small buffers
/// across threads, which glibc's malloc serves at a cost that showed in profiles. Built with
/// `no_thp`, because transparent huge pages made mimalloc's arenas nearly double the idle
/// resident size (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The pan-Canadian identity broker.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the broker with a configuration file.
    Serve {
        #[arg(long, env = "BROKER_CONFIG")]
        config: PathBuf,
        #[command(flatten)]
        tls: TlsFlags,
    },
    /// Generate the broker's signing keys (one PEM file per algorithm, and the next key
    /// beside each) into a directory.
    GenerateKeys { dir: PathBuf },
    /// Manage the signing keys of a configuration.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Bring the records' schema up to date (`broker serve` does it too at start), then exit.
    Migrate {
        #[arg(long, env = "BROKER_CONFIG")]
        config: PathBuf,
    },
    /// Validate a registry file and print every problem found; exits non-zero on any.
    CheckRegistry {
        /// The registry TOML file.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Rotate: the next key starts signing, the signing key stays published until its tokens
    /// have expired, a fresh next key is published. Serving brokers pick the change up within
    /// 30 seconds. Run it every 90 days, never twice within a day.
    Rotate {
        #[arg(long, env = "BROKER_CONFIG")]
        config: PathBuf,
    },
    /// Show the signing, next and retired keys of a configuration.
    List {
        #[arg(long, env = "BROKER_CONFIG")]
        config: PathBuf,
    },
}

/// TLS termination in the broker: both or neither.
#[derive(Debug, clap::Args)]
struct TlsFlags {
    /// PEM certificate chain (leaf first); overrides [tls] cert of the configuration file.
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of the certificate; overrides [tls] key.
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    tls_key: Option<PathBuf>,
}

impl TlsFlags {
    fn into_config(self) -> Option<broker::config::TlsConfig> {
        Some(broker::config::TlsConfig {
            cert: self.tls_cert?,
            key: self.tls_key?,
        })
    }
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    // Before anything can build a TLS client or server: a missing provider stops the broker
    // here, not at a first login.
    broker::crypto::install_provider()?;
    match cli.command {
        Command::CheckRegistry { file } => {
            let ok = broker::cli::check_registry::run(&file, &mut std::io::stdout().lock())?;
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::GenerateKeys { dir } => {
            std::fs::create_dir_all(&dir)?;
            println!("[keys]");
            for (alg, path) in broker::keys::KeySet::generate_files(&dir)? {
                println!("{alg} = \"{}\"", path.display());
            }
            let log = broker::keys::KeySet::generate_log_files(&dir)?;
            println!("\n[log]\nkey = \"{}\"", log.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys { command } => {
            let (config, rotate) = match command {
                KeysCommand::Rotate { config } => (config, true),
                KeysCommand::List { config } => (config, false),
            };
            let config = broker::config::Config::load(&config)?;
            let now = broker::clock::wall_time().unix_timestamp();
            if rotate {
                for r in broker::keys::rotation::rotate_files(&config.keys, now)? {
                    println!(
                        "{}: {} signs, {} is next{}",
                        r.alg,
                        r.signing_kid,
                        r.next_kid,
                        if r.promoted {
                            ""
                        } else {
                            " (first rotation: nothing promoted yet)"
                        }
                    );
                }
            }
            if let Some(log) = &config.log {
                if rotate {
                    let files = std::collections::BTreeMap::from([(
                        trust_framework::SigningAlg::EdDSA,
                        log.key.clone(),
                    )]);
                    broker::keys::rotation::rotate_files(&files, now)?;
                }
                let signing = broker::tlog::LogSigning::from_config(log, &config.issuer)?;
                for (i, vkey) in signing.vkeys()?.iter().enumerate() {
                    let which = if i == 0 { "signs" } else { "is next" };
                    println!("log: {vkey} {which}");
                }
            }
            let keys = broker::keys::KeySet::load_at(&config.keys, now)?;
            println!("{}", serde_json::to_string_pretty(&keys.jwks_at(now))?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { config } => {
            let _logs = broker::audit::log_to_stderr()?;
            let config = broker::config::Config::load(&config)?;
            let secrets = broker::secrets::SecretResolver::default();
            let records = tokio::runtime::Runtime::new()?
                .block_on(broker::cli::serve::open_records(&config, &secrets))?;
            println!("records ({}): schema up to date", records.backend().name());
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { config, tls } => {
            let _logs = broker::audit::log_to_stderr()?;
            let mut config = broker::config::Config::load(&config)?;
            if let Some(tls) = tls.into_config() {
                config.tls = Some(tls);
            }
            tokio::runtime::Runtime::new()?.block_on(broker::cli::serve::run(config))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
