//! `load`: runs complete OpenID Connect logins through the broker (or directly at one provider,
//! `--single-hop`) at several concurrency levels and reports logins per second, latency
//! percentiles and errors by kind: one JSON document on stdout, a short table on stderr.
//!
//! Closed loop: each of `concurrency` workers starts its next login when the previous one ends.
//! Every run is bounded in time and in count and stops by itself. Only loopback targets are
//! loaded unless `--allow-remote`.

mod cookies;
mod flow;
mod provider;
mod report;
mod rounds;
mod stats;
mod verify;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;

/// The same allocator as the broker: the load tool shares the cores with it, so its own
/// overhead is kept as low as the broker's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use url::Url;

use crate::flow::{Auth, Browser, Mode, Target};
use crate::report::{Report, merge, table};
use crate::stats::{Run, Samples};
use crate::verify::IdTokenVerifier;

/// Hard bounds, whatever the flags say.
const MAX_CONCURRENCY: usize = 1024;
const MAX_RUN: Duration = Duration::from_secs(3600);
const MAX_LOGINS: u64 = 10_000_000;

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 10s, 500ms, 2m)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("unknown unit {unit:?} (ms, s, m)")),
    };
    if !seconds.is_finite() || seconds < 0.0 || seconds > MAX_RUN.as_secs_f64() {
        return Err(format!("{text:?} is out of range (0 to 1 hour)"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Runs complete brokered logins (or single-hop logins at a provider) and reports figures.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The broker's issuer URL (with --single-hop: the provider's issuer).
    #[arg(long)]
    broker: Option<String>,
    #[arg(long)]
    client_id: Option<String>,
    /// The client secret (better from the environment than from the command line).
    #[arg(long, env = "LOAD_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    #[arg(long)]
    redirect_uri: Option<String>,
    /// Provider id (or jurisdiction) passed as `idp_hint`; several (comma-separated, with as
    /// many login hints) are used round robin. With --spawn-demo-provider: the registry
    /// provider to mirror (default ab-account).
    #[arg(long, value_delimiter = ',')]
    idp_hint: Vec<String>,
    /// The test person the demo provider signs in at once (one per --idp-hint).
    #[arg(long, value_delimiter = ',')]
    login_hint: Vec<String>,
    /// Client authentication at the token endpoint.
    #[arg(long, value_enum, default_value = "basic")]
    auth: Auth,
    #[arg(long, default_value = "openid profile address")]
    scope: String,
    /// Concurrency levels, one run each.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    concurrency: Vec<usize>,
    /// Length of each measured run (default 10s).
    #[arg(long, value_parser = parse_duration, conflicts_with = "logins")]
    duration: Option<Duration>,
    /// Logins per measured run instead of a duration (bounded by --max-seconds).
    #[arg(long)]
    logins: Option<u64>,
    /// Unmeasured logins before each run, at the same concurrency.
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    warmup: Duration,
    /// With --logins: the longest a run may last.
    #[arg(long, value_parser = parse_duration, default_value = "300s")]
    max_seconds: Duration,
    /// With --duration: the most logins a run may start.
    #[arg(long, default_value_t = 1_000_000)]
    max_logins: u64,
    /// Timeout of every HTTP request.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    timeout: Duration,
    /// Log in directly at an OpenID provider (--broker is its issuer): the single-hop ceiling.
    #[arg(long)]
    single_hop: bool,
    /// With --single-hop: serve a demo provider in this process (it shares this process's
    /// cores) with a client of its own; --broker, --client-* and --redirect-uri are not used.
    #[arg(long, requires = "single_hop")]
    spawn_demo_provider: bool,
    /// With --spawn-demo-provider: how many providers to serve, logins going round robin. A
    /// demo provider keeps at most 10,000 access tokens for 5 minutes and then answers
    /// `server_error`, so one provider alone cannot sustain more than 10,000 logins in 5 minutes.
    #[arg(long, default_value_t = 16, requires = "spawn_demo_provider")]
    providers: usize,
    /// Brokered: serve the demo providers of the registry in this process, at their registry
    /// addresses, for a broker run as `demo --providers elsewhere` (client secrets in
    /// the environment variables the registry names). Without --idp-hint, logins go round
    /// robin to every provider served, each with its first test person.
    #[arg(long, conflicts_with = "single_hop")]
    serve_providers: bool,
    /// With --serve-providers: the registry file (default: the example registry, as `broker
    /// demo` uses).
    #[arg(long, requires = "serve_providers", value_name = "TOML")]
    registry: Option<std::path::PathBuf>,
    /// A new reqwest Client (with its cookie store and connection pool) per login instead of
    /// one pooled client and a cookie jar handled by hand.
    #[arg(long)]
    client_per_login: bool,
    /// Sample this process's VmRSS during each run (e.g. the broker's pid).
    #[arg(long)]
    watch_pid: Option<u32>,
    /// On the broker's consent page, tick "remember": later logins of the same person then skip
    /// the page (without it, every login shows the page and posts "share").
    #[arg(long)]
    remember_consent: bool,
    /// Allow a target that is not on loopback.
    #[arg(long)]
    allow_remote: bool,
    /// Trust the certificates of this PEM file (in addition to the built-in roots) for https
    /// targets, e.g. the self-signed certificate of `broker demo --tls-cert`.
    #[arg(long, value_name = "PEM")]
    ca_file: Option<std::path::PathBuf>,
    /// Print one report made of the runs of these reports (of the same mode), and exit.
    #[arg(long, num_args = 1.., value_name = "REPORT")]
    merge: Vec<std::path::PathBuf>,
    /// Print one report of rounds: brokered and single-hop reports of one run each, in pairs
    /// in the order measured, with each round's ratio and each level's median; a table on
    /// stderr. Then exit.
    #[arg(long, num_args = 2.., value_name = "REPORT")]
    combine_rounds: Vec<std::path::PathBuf>,
    /// With --combine-rounds: a member to put first in the document, as KEY=JSON (repeated).
    #[arg(long, value_parser = rounds::parse_meta, requires = "combine_rounds")]
    meta: Vec<(String, serde_json::Value)>,
}

fn required(value: Option<String>, flag: &str) -> anyhow::Result<String> {
    value.with_context(|| format!("--{flag} is required"))
}

/// How long and how many: a run stops at whichever bound comes first.
#[derive(Debug, Clone, Copy)]
struct Bound {
    time: Duration,
    logins: u64,
}

struct Shared {
    /// One target, or several equivalent ones used round robin (see --providers).
    targets: Vec<Target>,
    pool: reqwest::Client,
    timeout: Duration,
    client_per_login: bool,
    /// From --ca-file, for the clients built per login.
    roots: Vec<reqwest::Certificate>,
}

async fn worker(shared: Arc<Shared>, started: Arc<AtomicU64>, end: Instant, limit: u64) -> Samples {
    let mut samples = Samples::default();
    while Instant::now() < end {
        let n = started.fetch_add(1, Ordering::Relaxed);
        if n >= limit {
            break;
        }
        let Some(target) = shared
            .targets
            .get(usize::try_from(n).unwrap_or(0) % shared.targets.len().max(1))
        else {
            break;
        };
        let begin = Instant::now();
        let browser = if shared.client_per_login {
            match flow::build_client(shared.timeout, true, &shared.roots) {
                Ok(client) => Browser::Own(client),
                Err(_) => {
                    samples.record_error("client_build".into());
                    continue;
                }
            }
        } else {
            Browser::Shared {
                client: &shared.pool,
                jar: cookies::CookieJar::default(),
            }
        };
        match target.login(browser, &shared.pool).await {
            Ok(steps) => samples.record_success(begin.elapsed(), &steps),
            Err(fail) => samples.record_error(fail.kind),
        }
    }
    samples
}

/// One closed-loop run at `concurrency`; returns the merged samples, the logins started and
/// the elapsed time (until the last in-flight login ended).
async fn run(
    shared: &Arc<Shared>,
    concurrency: usize,
    bound: Bound,
) -> anyhow::Result<(Samples, u64, Duration)> {
    let started = Arc::new(AtomicU64::new(0));
    let begin = Instant::now();
    let end = begin + bound.time;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| tokio::spawn(worker(shared.clone(), started.clone(), end, bound.logins)))
        .collect();
    let mut all = Samples::default();
    for w in workers {
        all.merge(w.await.context("a worker failed")?);
    }
    let elapsed = begin.elapsed();
    let attempts = started.load(Ordering::Relaxed).min(bound.logins);
    Ok((all, attempts, elapsed))
}

/// Who to log in at, as whom, checked with one login: discovery and JWKS of each target, and
/// (with --spawn-demo-provider) the providers themselves, which live as long as the returned
/// handles.
async fn prepare(
    args: &Args,
    mode: Mode,
    pool: &reqwest::Client,
    roots: &[reqwest::Certificate],
) -> anyhow::Result<(Arc<Shared>, Vec<provider::Spawned>)> {
    struct Endpoint {
        issuer: String,
        client_id: String,
        client_secret: String,
        redirect_uri: String,
        login_hint: String,
        idp_hint: Option<String>,
    }
    let mut spawned = Vec::new();
    let mut endpoints = Vec::new();
    if args.spawn_demo_provider {
        if args.providers == 0 || args.providers > 64 {
            bail!("--providers takes 1 to 64");
        }
        let provider_id = args.idp_hint.first().map_or("ab-account", String::as_str);
        for _ in 0..args.providers {
            let provider = provider::spawn(provider_id).await?;
            endpoints.push(Endpoint {
                issuer: provider.issuer.clone(),
                client_id: provider.client_id.clone(),
                client_secret: provider.client_secret.clone(),
                redirect_uri: provider.redirect_uri.clone(),
                login_hint: args
                    .login_hint
                    .first()
                    .cloned()
                    .unwrap_or_else(|| provider.first_person.clone()),
                idp_hint: None,
            });
            spawned.push(provider);
        }
    } else {
        let issuer = required(args.broker.clone(), "broker")?
            .trim_end_matches('/')
            .to_owned();
        let client_id = required(args.client_id.clone(), "client-id")?;
        let client_secret = required(args.client_secret.clone(), "client-secret")?;
        let redirect_uri = required(args.redirect_uri.clone(), "redirect-uri")?;
        if args.login_hint.is_empty() {
            bail!("--login-hint is required");
        }
        // Brokered: one target per (idp_hint, login_hint) pair, used round robin.
        let hints: Vec<(Option<String>, String)> = match mode {
            Mode::SingleHop => vec![(None, args.login_hint[0].clone())],
            Mode::Brokered => {
                if args.idp_hint.is_empty() {
                    bail!("--idp-hint is required");
                }
                if args.login_hint.len() != args.idp_hint.len() {
                    bail!(
                        "--idp-hint and --login-hint take as many values each (one person per provider)"
                    );
                }
                args.idp_hint
                    .iter()
                    .cloned()
                    .map(Some)
                    .zip(args.login_hint.iter().cloned())
                    .collect()
            }
        };
        for (idp_hint, login_hint) in hints {
            endpoints.push(Endpoint {
                issuer: issuer.clone(),
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                redirect_uri: redirect_uri.clone(),
                login_hint,
                idp_hint,
            });
        }
    }
    let mut targets = Vec::new();
    for e in endpoints {
        let issuer_url =
            Url::parse(&e.issuer).with_context(|| format!("{:?} is not a URL", e.issuer))?;
        if !args.allow_remote && !flow::is_loopback(&issuer_url) {
            bail!(
                "{} is not on loopback: this tool loads loopback targets only unless --allow-remote",
                e.issuer
            );
        }
        let (authorization_endpoint, token_endpoint, jwks) =
            flow::discover(pool, &e.issuer, args.allow_remote).await?;
        let verifier = IdTokenVerifier::from_jwks(&jwks, &e.issuer, &e.client_id)?;
        targets.push(Target {
            mode,
            issuer: e.issuer,
            authorization_endpoint,
            token_endpoint,
            client_id: e.client_id,
            client_secret: e.client_secret,
            redirect_uri: e.redirect_uri,
            scope: args.scope.clone(),
            idp_hint: e.idp_hint,
            login_hint: e.login_hint,
            auth: args.auth,
            allow_remote: args.allow_remote,
            remember_consent: args.remember_consent,
            verifier,
        });
    }
    let shared = Arc::new(Shared {
        targets,
        pool: pool.clone(),
        timeout: args.timeout,
        client_per_login: args.client_per_login,
        roots: roots.to_vec(),
    });
    // One login per target first: a target that cannot complete one is reported at once.
    let probe = Bound {
        time: args.timeout * 6,
        logins: shared.targets.len() as u64,
    };
    let (samples, _, _) = run(&shared, 1, probe).await?;
    if let Some((kind, _)) = samples.errors.iter().next() {
        bail!("the first login failed: {kind}");
    }
    Ok((shared, spawned))
}

async fn main_async(mut args: Args) -> anyhow::Result<()> {
    if !args.merge.is_empty() {
        println!("{}", serde_json::to_string_pretty(&merge(&args.merge)?)?);
        return Ok(());
    }
    if !args.combine_rounds.is_empty() {
        let (doc, table) = rounds::combine(&args.combine_rounds, &args.meta)?;
        eprint!("{table}");
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    if args.concurrency.is_empty()
        || args
            .concurrency
            .iter()
            .any(|&c| c == 0 || c > MAX_CONCURRENCY)
    {
        bail!("--concurrency takes levels from 1 to {MAX_CONCURRENCY}");
    }
    let bound = match args.logins {
        Some(n) if n == 0 || n > MAX_LOGINS => bail!("--logins takes 1 to {MAX_LOGINS}"),
        Some(n) => Bound {
            time: args.max_seconds,
            logins: n,
        },
        None => Bound {
            time: args.duration.unwrap_or(Duration::from_secs(10)),
            logins: args.max_logins.clamp(1, MAX_LOGINS),
        },
    };
    let mode = if args.single_hop {
        Mode::SingleHop
    } else {
        Mode::Brokered
    };
    let roots = match &args.ca_file {
        Some(path) => {
            let pem =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let roots = reqwest::Certificate::from_pem_bundle(&pem)
                .with_context(|| format!("{} is not a PEM certificate bundle", path.display()))?;
            if roots.is_empty() {
                bail!("{} holds no certificate", path.display());
            }
            roots
        }
        None => Vec::new(),
    };
    let pool = flow::build_client(args.timeout, false, &roots)?;

    // Kept to the end: dropping it stops the providers.
    let _served = if args.serve_providers {
        let registry = match &args.registry {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
            None => provider::EXAMPLE.to_owned(),
        };
        let broker = required(args.broker.clone(), "broker")?;
        let served = provider::serve_registry(&registry, &broker).await?;
        if args.idp_hint.is_empty() && args.login_hint.is_empty() {
            for p in &served.providers {
                let person = p
                    .persons
                    .first()
                    .with_context(|| format!("the demo provider {} has no test person", p.id))?;
                args.idp_hint.push(p.id.clone());
                args.login_hint.push(person.clone());
            }
        }
        for p in &served.providers {
            eprintln!("load: serving demo provider {} at {}", p.id, p.issuer);
        }
        Some(served)
    } else {
        None
    };

    // Without in-process providers, one set of targets for every level; with them, fresh
    // providers for each level (see --providers).
    let mut prepared = None;
    if !args.spawn_demo_provider {
        prepared = Some(prepare(&args, mode, &pool, &roots).await?.0);
    }
    let target_name = if args.spawn_demo_provider {
        format!(
            "in process: {} demo providers configured as {}, fresh for each level",
            args.providers,
            args.idp_hint.first().map_or("ab-account", String::as_str)
        )
    } else {
        args.broker.clone().unwrap_or_default()
    };

    let mut runs = Vec::new();
    for &concurrency in &args.concurrency {
        let (shared, _spawned) = match &prepared {
            Some(shared) => (shared.clone(), Vec::new()),
            None => prepare(&args, mode, &pool, &roots).await?,
        };
        if !args.warmup.is_zero() {
            let warm = Bound {
                time: args.warmup,
                logins: MAX_LOGINS,
            };
            run(&shared, concurrency, warm).await?;
        }
        let watcher = args.watch_pid.map(stats::watch_rss);
        let cpu_mark = stats::CpuMark::now(args.watch_pid);
        let (mut samples, attempts, elapsed) = run(&shared, concurrency, bound).await?;
        let cpu = cpu_mark.since(elapsed.as_secs_f64());
        let target_rss = match watcher {
            Some((stop, task)) => {
                stop.store(true, Ordering::Relaxed);
                task.await.context("the memory watcher failed")?
            }
            None => None,
        };
        let logins = samples.logins_us.len() as u64;
        let seconds = elapsed.as_secs_f64();
        let step_latency_ms = samples
            .steps_us
            .iter_mut()
            .filter_map(|(step, v)| Some(((*step).to_owned(), stats::latency(v)?)))
            .collect();
        let result = Run {
            concurrency,
            logins,
            attempts,
            seconds: (seconds * 1000.0).round() / 1000.0,
            logins_per_second: ((logins as f64 / seconds) * 10.0).round() / 10.0,
            errors: std::mem::take(&mut samples.errors),
            latency_ms: stats::latency(&mut samples.logins_us),
            step_latency_ms,
            target_rss,
            cpu,
        };
        eprintln!(
            "load: concurrency {concurrency}: {logins} logins in {seconds:.1} s ({:.1}/s)",
            result.logins_per_second
        );
        runs.push(result);
    }

    let report = Report {
        target: target_name,
        idp_hints: args.idp_hint.clone(),
        login_hints: args.login_hint.clone(),
        mode: mode.name(),
        auth: match args.auth {
            Auth::Basic => "client_secret_basic",
            Auth::Post => "client_secret_post",
        },
        browser: if args.client_per_login {
            "reqwest client per login"
        } else {
            "pooled client, cookies by hand"
        },
        client_per_login: args.client_per_login,
        remember_consent: args.remember_consent,
        providers_in_process: args.serve_providers || args.spawn_demo_provider,
        warmup_seconds: args.warmup.as_secs_f64(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        runs,
    };
    eprint!("{}", table(&report));
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Before any client is built: a missing provider stops the tool here.
    demo::jose::install_crypto_provider()?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?
        .block_on(main_async(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("2h").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("2 days").is_err());
    }

    #[test]
    fn loopback_only() {
        for ok in [
            "http://127.0.0.1:8400",
            "http://localhost:1",
            "http://[::1]:80",
            "http://127.9.9.9",
        ] {
            assert!(flow::is_loopback(&Url::parse(ok).unwrap()), "{ok}");
        }
        for no in [
            "http://10.0.0.1",
            "https://broker.example.gc.ca",
            "http://[::2]",
        ] {
            assert!(!flow::is_loopback(&Url::parse(no).unwrap()), "{no}");
        }
    }
}
