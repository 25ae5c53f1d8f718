//! `demo`: the broker with demo identity providers and a demo relying service on localhost, in
//! memory, with the example registry (or another development registry): the project's test
//! bed, and a way to see a brokered login from end to end. A binary of its own, so that the
//! broker's service binary carries no test provider.

mod runner;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Run the pan-Canadian identity broker with demo identity providers and a demo relying
/// service on localhost.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// A development registry to run instead of the example one.
    #[arg(long)]
    registry: Option<PathBuf>,
    /// The broker's port on 127.0.0.1.
    #[arg(long, default_value_t = 8400)]
    port: u16,
    /// Keep state in this Redis (redis://host:port/db) instead of memory.
    #[arg(long)]
    redis_url: Option<String>,
    /// Keep the records in this PostgreSQL (postgres://…) instead of SQLite in memory.
    #[arg(long, env = "DEMO_RECORDS_URL")]
    records_url: Option<String>,
    /// PEM certificate chain (leaf first): the broker serves https (its issuer is then
    /// https://127.0.0.1:PORT) and the demo relying service trusts this chain.
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of the certificate.
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Requests per source address per minute (0: no limit). The load tool is one address,
    /// so load/run.sh turns this off.
    #[arg(long, default_value_t = 1200)]
    per_address_per_minute: u64,
    /// Requests per relying party per minute (0: no limit).
    #[arg(long, default_value_t = 12_000)]
    per_client_per_minute: u64,
    /// Where the demo providers run: here (with the broker), only (this process serves them
    /// alone) or elsewhere (another `--providers only` process; secrets shared through the
    /// environment variables the registry names).
    #[arg(long, value_enum, default_value = "here")]
    providers: runner::DemoProviders,
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let _logs = broker::audit::log_to_stderr()?;
    let tls = match (cli.tls_cert, cli.tls_key) {
        (Some(cert), Some(key)) => Some(broker::config::TlsConfig { cert, key }),
        _ => None,
    };
    let options = runner::DemoOptions {
        registry: cli.registry,
        broker_port: cli.port,
        redis_url: cli.redis_url,
        records_url: cli.records_url,
        tls,
        limits: broker::http::limits::Limits {
            per_address_per_minute: cli.per_address_per_minute,
            per_client_per_minute: cli.per_client_per_minute,
            ..broker::http::limits::Limits::default()
        },
        providers: cli.providers,
    };
    tokio::runtime::Runtime::new()?.block_on(runner::run(options))?;
    Ok(ExitCode::SUCCESS)
}
