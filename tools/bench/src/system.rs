//! Machine facts, peak RSS of the bench process and build cost.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lambda_kit::{Clock, SystemClock};

use super::results::{Entry, Machine};
use super::stats::Summary;
use devstack::stack::workspace_root;

/// Where and when the run happens.
pub(crate) fn machine() -> Machine {
    let root = workspace_root();
    let git = |args: &[&str]| output(Command::new("git").args(args).current_dir(&root));
    Machine {
        date: SystemClock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        git_commit: git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".to_owned()),
        git_dirty: git(&["status", "--porcelain", "--untracked-files=no"])
            .is_some_and(|s| !s.trim().is_empty()),
        nproc: std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        cpu_model: proc_field("/proc/cpuinfo", "model name")
            .unwrap_or_else(|| "unknown".to_owned()),
        mem_total_mib: proc_field("/proc/meminfo", "MemTotal")
            .and_then(|v| kib(&v))
            .map_or(0, |k| k / 1024),
        load_avg_start: load_avg(),
        load_avg_end: String::new(),
        rustc: output(Command::new("rustc").arg("--version").current_dir(&root))
            .unwrap_or_else(|| "unknown".to_owned()),
        profile: if cfg!(debug_assertions) {
            "dev (unoptimised, debug assertions on): `cargo run -p bench`".to_owned()
        } else {
            "optimised (debug assertions off)".to_owned()
        },
        os: output(Command::new("uname").arg("-sr")).unwrap_or_else(|| "unknown".to_owned()),
    }
}

/// The first three fields of `/proc/loadavg`.
pub(crate) fn load_avg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn output(command: &mut Command) -> Option<String> {
    let out = command.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The value of the first `name: value` line of a `/proc` file.
fn proc_field(path: &str, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    parse_field(&text, name)
}

fn parse_field(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == name).then(|| value.trim().to_owned())
    })
}

/// `1234 kB` → 1234.
fn kib(value: &str) -> Option<u64> {
    value.split_whitespace().next()?.parse().ok()
}

/// Peak and current resident set size of this process (`VmHWM`, `VmRSS`).
pub(crate) fn memory() -> Vec<Entry> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let read = |name: &str| parse_field(&status, name).and_then(|v| kib(&v));
    let note = "the bench process: four fakes, devstack, the emulators and every in-process handler (moto is a separate Python process, not included)";
    match (read("VmHWM"), read("VmRSS")) {
        (Some(hwm), Some(rss)) => vec![
            Entry::value(
                "memory",
                "peak_rss",
                "Peak RSS of the bench process (VmHWM)",
                "MiB",
                hwm as f64 / 1024.0,
            )
            .note(note),
            Entry::value(
                "memory",
                "rss_end",
                "RSS at the end of the run (VmRSS)",
                "MiB",
                rss as f64 / 1024.0,
            ),
        ],
        _ => vec![Entry::failed(
            "memory",
            "peak_rss",
            "Peak RSS of the bench process (VmHWM)",
            "/proc/self/status has no VmHWM",
        )],
    }
}

/// The wall time of `cargo build -p <service>` with a warm `target/` (normally a no-op), `iterations` times
/// each, counting the crates cargo actually compiled. All builds together are cut off after `budget`.
pub(crate) fn build_cost(iterations: usize, budget: Duration) -> Vec<Entry> {
    let deadline = Instant::now() + budget;
    let mut services: Vec<String> = std::fs::read_dir(workspace_root().join("services"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.path().join("Cargo.toml").is_file())
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    services.sort();
    services
        .iter()
        .map(|service| build_one(service, iterations, deadline))
        .collect()
}

fn build_one(service: &str, iterations: usize, deadline: Instant) -> Entry {
    let title = format!("`cargo build -p {service}` (dev, warm target/)");
    let mut times = Vec::new();
    let mut compiled = Vec::new();
    let mut waited_for_lock = false;
    for _ in 0..iterations {
        let cap = deadline.saturating_duration_since(Instant::now());
        if cap.is_zero() {
            return Entry::failed(
                "build",
                service,
                &title,
                "the build-cost budget was used up before this service",
            );
        }
        match timed_cargo_build(service, cap) {
            Ok(run) => {
                times.push(run.elapsed);
                compiled.push(run.compiled.to_string());
                waited_for_lock |= run.waited_for_lock;
            }
            Err(error) => return Entry::failed("build", service, &title, &error),
        }
    }
    let mut entry = Entry::timed("build", service, &title, Summary::of_millis(&times))
        .with("crates recompiled per build", compiled.join(", "));
    if waited_for_lock {
        entry = entry.note("cargo waited for the build-directory lock (another build was running): includes waiting");
    }
    entry.command = format!("cargo build -p {service}");
    entry
}

struct BuildRun {
    elapsed: Duration,
    compiled: usize,
    waited_for_lock: bool,
}

fn timed_cargo_build(service: &str, cap: Duration) -> Result<BuildRun, String> {
    let started = Instant::now();
    let mut child = Command::new("cargo")
        .args(["build", "--locked", "-p", service])
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    let stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = stderr {
            let _ = std::io::Read::read_to_string(&mut pipe, &mut text);
        }
        text
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > cap => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`cargo build -p {service}` took longer than {} s; stopped",
                    cap.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for cargo failed: {e}")),
        }
    };
    let elapsed = started.elapsed();
    let text = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("`cargo build -p {service}` failed ({status})"));
    }
    Ok(BuildRun {
        elapsed,
        compiled: text
            .lines()
            .filter(|l| l.trim_start().starts_with("Compiling "))
            .count(),
        waited_for_lock: text.contains("Blocking waiting for file lock"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_fields_are_read_by_exact_name() {
        let text = "VmPeak:\t  999 kB\nVmHWM:\t   2048 kB\nVmRSS:\t 1024 kB\n";
        assert_eq!(parse_field(text, "VmHWM").and_then(|v| kib(&v)), Some(2048));
        assert_eq!(parse_field(text, "VmRSS").and_then(|v| kib(&v)), Some(1024));
        assert_eq!(parse_field(text, "Vm"), None);
    }

    #[test]
    fn the_peak_rss_of_this_process_is_measured() {
        let entries = memory();
        assert!(entries[0].value.is_some_and(|v| v > 0.0), "{entries:?}");
    }
}
