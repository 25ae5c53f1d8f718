use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: a login allocates and frees many small buffers
/// across threads, where glibc's malloc showed as about a seventh of the broker's CPU time.
/// Built with `no_thp`: with transparent huge pages mimalloc's arenas took the idle resident
/// size from 18 MB to 34 MB; without them it is 23 MB.
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
    /// Run the broker, demo identity providers and a demo relying service on localhost, in
    /// memory, with the example registry (or another development registry).
    Demo {
        #[arg(long)]
        registry: Option<PathBuf>,
        #[arg(long, default_value_t = 8400)]
        port: u16,
        /// Keep state in this Redis (redis://host:port/db) instead of memory.
        #[arg(long)]
        redis_url: Option<String>,
        /// Serve the broker over https (its issuer is then https://127.0.0.1:PORT); the demo
        /// relying service trusts the certificates of --tls-cert.
        #[command(flatten)]
        tls: TlsFlags,
        /// Requests per source address per minute (0: no limit). The load tool is one
        /// address, so load/run.sh turns this off.
        #[arg(long, default_value_t = 1200)]
        per_address_per_minute: u64,
        /// Requests per relying party per minute (0: no limit).
        #[arg(long, default_value_t = 12_000)]
        per_client_per_minute: u64,
        /// Where the demo providers run: here (with the broker), only (this process serves
        /// them alone) or elsewhere (another `--providers only` process; secrets shared
        /// through the environment variables the registry names).
        #[arg(long, value_enum, default_value = "here")]
        providers: broker::cli::demo::DemoProviders,
    },
    /// Generate the broker's signing keys (one PEM file per algorithm, and the next key
    /// beside each) into a directory.
    GenerateKeys { dir: PathBuf },
    /// Manage the signing keys of a configuration.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
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

/// JSON logs on stderr, written in batches by a thread of its own (`broker::audit::sink`): a
/// request appends its lines and goes on. Not lossy: when too much waits, requests wait, so no
/// audit event is ever dropped. The guard writes what is left at exit.
fn init_tracing() -> anyhow::Result<broker::audit::Flushing> {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (sink, flushing) = broker::audit::LogSink::spawn(std::io::stderr())?;
    let _ = broker::audit::log_format(filter)
        .with_writer(sink)
        .try_init();
    Ok(flushing)
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
        Command::Demo {
            registry,
            port,
            redis_url,
            tls,
            per_address_per_minute,
            per_client_per_minute,
            providers,
        } => {
            let _logs = init_tracing()?;
            let options = broker::cli::demo::DemoOptions {
                registry,
                broker_port: port,
                redis_url,
                tls: tls.into_config(),
                limits: broker::http::limits::Limits {
                    per_address_per_minute,
                    per_client_per_minute,
                    ..broker::http::limits::Limits::default()
                },
                providers,
            };
            tokio::runtime::Runtime::new()?.block_on(broker::cli::demo::run(options))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::GenerateKeys { dir } => {
            std::fs::create_dir_all(&dir)?;
            for (alg, path) in broker::keys::KeySet::generate_files(&dir)? {
                println!("{alg} = \"{}\"", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys { command } => {
            let (config, rotate) = match command {
                KeysCommand::Rotate { config } => (config, true),
                KeysCommand::List { config } => (config, false),
            };
            let config = broker::config::Config::load(&config)?;
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
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
            let keys = broker::keys::KeySet::load_at(&config.keys, now)?;
            println!("{}", serde_json::to_string_pretty(&keys.jwks_at(now))?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { config, tls } => {
            let _logs = init_tracing()?;
            let mut config = broker::config::Config::load(&config)?;
            if let Some(tls) = tls.into_config() {
                config.tls = Some(tls);
            }
            tokio::runtime::Runtime::new()?.block_on(broker::cli::serve::run(config))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
