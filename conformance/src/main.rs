//! `conformance provider|broker|registry ... [--json FILE] [--junit FILE] [--html FILE]`
//!
//! Prints a summary; exits 0 when no required check failed, 1 when one did, 2 on a usage
//! error (clap's own code) or when the run could not start.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand};
use conformance::broker::{BrokerTarget, check_broker};
use conformance::provider::{ProviderTarget, check_provider};
use conformance::registry::check_registry;
use conformance::{Outcome, Report, TestClient, report};
use time::OffsetDateTime;
use trust_framework::Registry;

#[derive(Debug, Parser)]
#[command(
    name = "conformance",
    version,
    about = "PCTF conformance suite for OpenID providers, the broker and registry files"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    out: Outputs,
}

#[derive(Debug, Args)]
struct Outputs {
    /// Write the report as JSON.
    #[arg(long, global = true)]
    json: Option<PathBuf>,
    /// Write the report as JUnit XML.
    #[arg(long, global = true)]
    junit: Option<PathBuf>,
    /// Write the report as a self-contained HTML page.
    #[arg(long, global = true)]
    html: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ProviderArgs {
    /// The issuer, exactly as registered.
    #[arg(long)]
    issuer: String,
    /// Treat http on a loopback host as a warning (test providers only).
    #[arg(long)]
    allow_loopback_http: bool,
    #[arg(long, requires_all = ["client_secret_env", "redirect_uri"])]
    client_id: Option<String>,
    /// The name of the environment variable holding the client secret.
    #[arg(long)]
    client_secret_env: Option<String>,
    #[arg(long)]
    redirect_uri: Option<String>,
    /// Signs a test person in without a page.
    #[arg(long)]
    login_hint: Option<String>,
    /// A registry file, for acr mapping and attested attributes (with --provider-id) or
    /// agreements (broker).
    #[arg(long)]
    registry: Option<PathBuf>,
    #[arg(long, requires = "registry")]
    provider_id: Option<String>,
    /// The scope of the live requests.
    #[arg(long, default_value = "openid profile")]
    scope: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Checks an identity provider.
    Provider(ProviderArgs),
    /// Checks the broker (the provider profile plus the broker's).
    Broker {
        #[command(flatten)]
        provider: ProviderArgs,
        /// A client of another sector, for pairwise subjects.
        #[arg(long, requires_all = ["second_client_secret_env", "second_redirect_uri"])]
        second_client_id: Option<String>,
        #[arg(long)]
        second_client_secret_env: Option<String>,
        #[arg(long)]
        second_redirect_uri: Option<String>,
        /// Sends idp_hint so that the broker picks the provider without its picker.
        #[arg(long)]
        idp_hint: Option<String>,
    },
    /// Checks a registry file statically.
    Registry { file: PathBuf },
}

fn secret(var: &str) -> anyhow::Result<String> {
    std::env::var(var)
        .with_context(|| format!("the environment variable {var} (client secret) is not set"))
}

fn client(
    id: Option<String>,
    env: Option<String>,
    redirect: Option<String>,
) -> anyhow::Result<Option<TestClient>> {
    match (id, env, redirect) {
        (Some(client_id), Some(env), Some(redirect_uri)) => Ok(Some(TestClient {
            client_id,
            client_secret: secret(&env)?,
            redirect_uri,
        })),
        _ => Ok(None),
    }
}

fn load_registry(path: &PathBuf) -> anyhow::Result<Registry> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Registry::from_toml(&text)
        .with_context(|| format!("{} is not a valid registry", path.display()))
}

fn provider_target(args: ProviderArgs) -> anyhow::Result<(ProviderTarget, Option<Registry>)> {
    let registry = args.registry.as_ref().map(load_registry).transpose()?;
    let registry_entry = match (&registry, &args.provider_id) {
        (Some(r), Some(id)) => match r.provider(id) {
            Some(p) => Some(p.clone()),
            None => bail!("the provider {id:?} is not in the registry"),
        },
        _ => None,
    };
    let mut target = ProviderTarget::new(args.issuer);
    target.allow_loopback_http = args.allow_loopback_http;
    target.client = client(args.client_id, args.client_secret_env, args.redirect_uri)?;
    target.login_hint = args.login_hint;
    target.registry_entry = registry_entry;
    target.scope = args.scope;
    Ok((target, registry))
}

async fn run(cli: Cli) -> anyhow::Result<Report> {
    let now = OffsetDateTime::now_utc();
    Ok(match cli.command {
        Command::Provider(args) => {
            let (target, _) = provider_target(args)?;
            check_provider(&target, now).await?
        }
        Command::Broker {
            provider,
            second_client_id,
            second_client_secret_env,
            second_redirect_uri,
            idp_hint,
        } => {
            let (mut target, registry) = provider_target(provider)?;
            if let Some(hint) = idp_hint {
                target.extra_params.push(("idp_hint".into(), hint));
            }
            let second_client = client(
                second_client_id,
                second_client_secret_env,
                second_redirect_uri,
            )?;
            check_broker(
                &BrokerTarget {
                    provider: target,
                    second_client,
                    registry,
                },
                now,
            )
            .await?
        }
        Command::Registry { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            check_registry(&file.display().to_string(), &text, now)
        }
    })
}

fn write(
    path: &Option<PathBuf>,
    content: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    if let Some(path) = path {
        std::fs::write(path, content()?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn print_summary(report: &Report) {
    println!("{} {}", report.subject.profile(), report.subject.name());
    for c in &report.checks {
        let mark = match c.outcome {
            Outcome::Pass => "PASS",
            Outcome::Fail(_) if c.required => "FAIL",
            Outcome::Fail(_) => "fail (recommended)",
            Outcome::Warning(_) => "WARN",
            Outcome::Skipped(_) => "SKIP",
        };
        match c.outcome.reason() {
            Some(r) => println!("{mark:5} {:26} {} — {}", c.id, c.title.en, r.en),
            None => println!("{mark:5} {:26} {}", c.id, c.title.en),
        }
    }
    let s = report.summary();
    println!(
        "{} passed, {} failed ({} required), {} warnings, {} skipped: {}",
        s.pass,
        s.fail,
        s.required_fail,
        s.warning,
        s.skipped,
        if report.passed() {
            "CONFORMANT"
        } else {
            "NOT CONFORMANT"
        }
    );
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before any client is built: a missing provider stops the suite here.
    if let Err(e) = conformance::install_crypto_provider() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let outputs = Outputs {
        json: cli.out.json.clone(),
        junit: cli.out.junit.clone(),
        html: cli.out.html.clone(),
    };
    let report = match run(cli).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("conformance: {e:#}");
            return ExitCode::from(2);
        }
    };
    print_summary(&report);
    let written = write(&outputs.json, || Ok(report::json(&report)?))
        .and_then(|()| write(&outputs.junit, || Ok(report::junit(&report))))
        .and_then(|()| write(&outputs.html, || Ok(report::html(&report))));
    if let Err(e) = written {
        eprintln!("conformance: {e:#}");
        return ExitCode::from(2);
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
