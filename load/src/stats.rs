//! Figures of one run: logins, errors by kind, exact latency percentiles (every sample is
//! kept, in microseconds: runs are bounded, so the vectors are too), and the target's memory.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;

/// What one worker saw.
#[derive(Debug, Default)]
pub struct Samples {
    /// Whole successful logins, microseconds.
    pub logins_us: Vec<u64>,
    /// Per step of successful logins, microseconds.
    pub steps_us: BTreeMap<&'static str, Vec<u64>>,
    pub errors: BTreeMap<String, u64>,
}

impl Samples {
    pub fn merge(&mut self, other: Self) {
        self.logins_us.extend(other.logins_us);
        for (step, theirs) in other.steps_us {
            self.steps_us.entry(step).or_default().extend(theirs);
        }
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
    }

    pub fn record_success(&mut self, total: Duration, steps: &[(&'static str, Duration)]) {
        self.logins_us.push(micros(total));
        for (step, d) in steps {
            self.steps_us.entry(step).or_default().push(micros(*d));
        }
    }

    pub fn record_error(&mut self, kind: String) {
        *self.errors.entry(kind).or_default() += 1;
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Samples.
    pub n: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// Nearest-rank percentiles in milliseconds (two decimals); `None` without samples.
pub fn latency(samples: &mut [u64]) -> Option<Latency> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let n = samples.len();
    let at = |q: f64| {
        // Nearest rank: ceil(q * n), 1-based.
        let rank = (q * n as f64).ceil().max(1.0) as usize;
        ms(samples[rank.min(n) - 1])
    };
    Some(Latency {
        n,
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: ms(samples[n - 1]),
    })
}

fn ms(us: u64) -> f64 {
    (us as f64 / 10.0).round() / 100.0
}

/// The resident memory of a watched process, kB (from /proc/PID/status VmRSS).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rss {
    pub pid: u32,
    pub before_kb: u64,
    pub max_kb: u64,
    pub after_kb: u64,
}

pub fn vm_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Clock ticks per second of /proc/stat and /proc/PID/stat (USER_HZ, 100 on Linux).
const USER_HZ: f64 = 100.0;

/// Busy CPU time of the whole machine, in ticks (all cores; /proc/stat minus idle and iowait).
fn machine_busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_ascii_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().take(8).sum();
    Some(total - fields.get(3)? - fields.get(4)?)
}

/// User plus system CPU time of a process, in ticks.
fn process_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command (which may hold spaces): state is field 3, utime 14, stime 15.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_ascii_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Where the CPU went during a run, in percent of one core (200 = both cores of two). A large
/// `others_pct` means something else on the machine competed with the measurement.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Cpu {
    pub machine_pct: f64,
    pub load_tool_pct: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_pct: Option<f64>,
    pub others_pct: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct CpuMark {
    machine: Option<u64>,
    own: Option<u64>,
    target: Option<u64>,
    target_pid: Option<u32>,
}

impl CpuMark {
    pub fn now(target_pid: Option<u32>) -> Self {
        Self {
            machine: machine_busy_ticks(),
            own: process_ticks(std::process::id()),
            target: target_pid.and_then(process_ticks),
            target_pid,
        }
    }

    /// The CPU used since this mark, over `seconds`.
    pub fn since(&self, seconds: f64) -> Option<Cpu> {
        let later = Self::now(self.target_pid);
        let pct = |a: u64, b: u64| {
            ((b.saturating_sub(a) as f64 / USER_HZ / seconds) * 1000.0).round() / 10.0
        };
        let machine = pct(self.machine?, later.machine?);
        let own = pct(self.own?, later.own?);
        let target = match (self.target, later.target) {
            (Some(a), Some(b)) => Some(pct(a, b)),
            _ => None,
        };
        Some(Cpu {
            machine_pct: machine,
            load_tool_pct: own,
            target_pct: target,
            others_pct: ((machine - own - target.unwrap_or(0.0)).max(0.0) * 10.0).round() / 10.0,
        })
    }
}

#[derive(Debug, Serialize)]
pub struct Run {
    pub concurrency: usize,
    /// Successful logins (all five steps passed).
    pub logins: u64,
    /// Logins started (successes plus errors).
    pub attempts: u64,
    pub seconds: f64,
    pub logins_per_second: f64,
    pub errors: BTreeMap<String, u64>,
    /// Whole successful logins.
    pub latency_ms: Option<Latency>,
    /// Each step of the successful logins.
    pub step_latency_ms: BTreeMap<String, Latency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_rss: Option<Rss>,
    pub cpu: Option<Cpu>,
}

/// Samples a process's VmRSS every 100 ms until stopped.
pub fn watch_rss(pid: u32) -> (Arc<AtomicBool>, tokio::task::JoinHandle<Option<Rss>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let task = tokio::spawn(async move {
        let before = vm_rss_kb(pid)?;
        let mut max = before;
        while !flag.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if let Some(kb) = vm_rss_kb(pid) {
                max = max.max(kb);
            }
        }
        let after = vm_rss_kb(pid).unwrap_or(0);
        Some(Rss {
            pid,
            before_kb: before,
            max_kb: max.max(after),
            after_kb: after,
        })
    });
    (stop, task)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        let l = latency(&mut v).unwrap();
        assert_eq!((l.p50, l.p90, l.p99, l.max), (50.0, 90.0, 99.0, 100.0));
        let mut one = vec![1234];
        assert_eq!(latency(&mut one).unwrap().p99, 1.23);
        assert!(latency(&mut []).is_none());
    }

    #[test]
    fn reads_own_rss_and_cpu() {
        assert!(vm_rss_kb(std::process::id()).is_some_and(|kb| kb > 0));
        assert!(machine_busy_ticks().is_some());
        assert!(process_ticks(std::process::id()).is_some());
        let mark = CpuMark::now(Some(std::process::id()));
        assert!(mark.since(1.0).is_some_and(|c| c.machine_pct >= 0.0));
    }
}
