//! `conformance provider|broker|registry ... [--json FILE] [--junit FILE] [--html FILE]`
//! `conformance log verify|witness ...`, `conformance log verify --proof FILE ...`
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
use conformance::{CaBundle, Outcome, Report, TestClient, log, report};
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
    /// The scope of the live requests to the broker. A provider is asked for what the broker
    /// would ask it (from --registry, else its discovery document); this only when neither
    /// names scopes.
    #[arg(long, default_value = "openid profile")]
    scope: String,
    /// A PEM file of certificate authorities to trust besides the web's, for a test
    /// deployment whose certificates come from a private authority.
    #[arg(long, value_name = "FILE")]
    ca_bundle: Option<PathBuf>,
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
    /// The broker's tamper-evident log: verified by an auditor, cosigned by a witness.
    #[command(subcommand)]
    Log(LogCommand),
}

#[derive(Debug, Subcommand)]
enum LogCommand {
    /// Checks the newest checkpoint's signature and the whole tree from its tiles; with an
    /// auditor's token, compares the records themselves with the tree. With --proof instead of
    /// --log, checks one record's inclusion proof bundle offline.
    Verify {
        /// The broker (https://broker.example.ca), or its log's prefix (.../log).
        #[arg(long, required_unless_present = "proof", conflicts_with = "proof")]
        log: Option<String>,
        /// A verifier key of the log (C2SP vkey, as GET /log/key lists them); repeatable.
        #[arg(long = "log-key", required = true)]
        log_keys: Vec<String>,
        /// The name of the environment variable holding an auditor's token for the admin API.
        #[arg(long, conflicts_with = "proof")]
        admin_token_env: Option<String>,
        /// An inclusion proof bundle (JSON, as a person downloads it for one record), checked
        /// offline: nothing is fetched.
        #[arg(long, value_name = "FILE")]
        proof: Option<PathBuf>,
        /// A witness's verifier key (C2SP vkey, cosignature type), with --proof: each one given
        /// must have cosigned a bundle that says it was witnessed; repeatable.
        #[arg(long = "witness-key", requires = "proof")]
        witness_keys: Vec<String>,
    },
    /// One round of a witness: checks that the newest checkpoint extends the last one seen,
    /// cosigns it, hands the cosignature to the broker and remembers the checkpoint.
    Witness {
        /// The broker (https://broker.example.ca), or its log's prefix (.../log).
        #[arg(long, required_unless_present = "new_key")]
        log: Option<String>,
        /// A verifier key of the log (C2SP vkey); repeatable.
        #[arg(long = "log-key", required_unless_present = "new_key")]
        log_keys: Vec<String>,
        /// The witness's Ed25519 private key (PKCS#8 PEM).
        #[arg(long)]
        key: PathBuf,
        /// The witness's key name.
        #[arg(long)]
        name: String,
        /// The file holding the last checkpoint this witness saw.
        #[arg(long, required_unless_present = "new_key")]
        state: Option<PathBuf>,
        /// Creates --key if it is missing (readable by its owner only) and prints the
        /// witness's verifier key, for the broker's [log] witnesses; without --log, only that.
        #[arg(long)]
        new_key: bool,
        /// Cosigns without handing the cosignature to the broker (it is printed).
        #[arg(long)]
        no_submit: bool,
    },
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
    target.ca_bundle = args
        .ca_bundle
        .as_deref()
        .map(CaBundle::from_pem_file)
        .transpose()?;
    Ok((target, registry))
}

/// `conformance log ...`: its summary on stdout, a failure on stderr; 0, 1 when a check failed,
/// 2 when it could not run.
async fn run_log(command: LogCommand, now: OffsetDateTime) -> ExitCode {
    let (what, result) = match command {
        LogCommand::Verify {
            proof: Some(file),
            log_keys,
            witness_keys,
            ..
        } => {
            let args = log::ProofArgs {
                file,
                log_keys,
                witness_keys,
            };
            ("verify", log::verify_proof(&args))
        }
        LogCommand::Verify {
            log,
            log_keys,
            admin_token_env,
            ..
        } => {
            // clap requires --log without --proof.
            let Some(log) = log else {
                eprintln!("conformance log verify: --log or --proof is required");
                return ExitCode::from(2);
            };
            let admin_token = match admin_token_env.as_deref().map(std::env::var).transpose() {
                Ok(token) => token,
                Err(_) => {
                    eprintln!(
                        "conformance log verify: the environment variable {} (auditor's token) is not set",
                        admin_token_env.unwrap_or_default()
                    );
                    return ExitCode::from(2);
                }
            };
            let args = log::VerifyArgs {
                log,
                log_keys,
                admin_token,
            };
            ("verify", log::verify(&args).await)
        }
        LogCommand::Witness {
            log,
            log_keys,
            key,
            name,
            state,
            new_key,
            no_submit,
        } => {
            if new_key {
                match log::new_key(&key, &name) {
                    Ok((vkey, created)) => {
                        if created {
                            println!(
                                "created the witness key {} (mode 0600); its verifier key, for the broker's [log] witnesses:",
                                key.display()
                            );
                        } else {
                            println!(
                                "the witness key {} exists; its verifier key:",
                                key.display()
                            );
                        }
                        println!("{vkey}");
                    }
                    Err(e) => {
                        eprintln!("conformance log witness: {e}");
                        return ExitCode::from(e.exit_code());
                    }
                }
            }
            let (log, state) = match (log, state) {
                (Some(log), Some(state)) => (log, state),
                (None, None) => return ExitCode::SUCCESS,
                _ => {
                    eprintln!("conformance log witness: --log and --state go together");
                    return ExitCode::from(2);
                }
            };
            let args = log::WitnessArgs {
                log,
                log_keys,
                key,
                name,
                state,
                submit: !no_submit,
                now: u64::try_from(now.unix_timestamp()).unwrap_or(0),
            };
            ("witness", log::witness(&args).await)
        }
    };
    match result {
        Ok(summary) => {
            for line in summary {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let label = match e {
                log::LogError::Failed(_) => "FAILED",
                _ => "could not run",
            };
            eprintln!("conformance log {what}: {label}: {e}");
            ExitCode::from(e.exit_code())
        }
    }
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
        Command::Log(_) => bail!("conformance log writes no report"),
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
    let cli = match cli.command {
        Command::Log(command) => {
            if cli.out.json.is_some() || cli.out.junit.is_some() || cli.out.html.is_some() {
                eprintln!(
                    "conformance log writes no report: --json, --junit and --html do not apply"
                );
                return ExitCode::from(2);
            }
            return run_log(command, OffsetDateTime::now_utc()).await;
        }
        command => Cli {
            command,
            out: cli.out,
        },
    };
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
