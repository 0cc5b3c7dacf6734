//! Signature verification on its own: GitHub `X-Hub-Signature-256` and Slack `v0` signatures.

use std::time::{Duration, Instant};

use lambda_kit::FixedClock;
use secrecy::SecretString;

use super::results::Entry;
use super::stats::Summary;

/// The webhook body cap of `cls-webhook` (`CLS_MAX_BODY_BYTES` default): the largest body it hashes.
const ONE_MIB: usize = 1024 * 1024;
/// A typical `member` delivery is a few KiB.
const MEMBER_BODY_BYTES: usize = 6 * 1024;
/// A typical Slack `block_actions` form body.
const SLACK_BODY_BYTES: usize = 4 * 1024;

/// Runs the signature benchmarks, `iterations` each (plus a few warm-up rounds).
pub(crate) fn run(iterations: usize) -> Vec<Entry> {
    let secret = SecretString::from("bench-only-webhook-secret");
    let previous = SecretString::from("bench-only-previous-secret");
    let mut entries = Vec::new();
    for (name, title, size, secrets) in [
        (
            "github_1mib",
            "GitHub HMAC-SHA256 verify, 1 MiB body, 1 secret",
            ONE_MIB,
            vec![secret.clone()],
        ),
        (
            "github_1mib_rotation",
            "GitHub HMAC-SHA256 verify, 1 MiB body, 2 secrets (rotation)",
            ONE_MIB,
            vec![previous.clone(), secret.clone()],
        ),
        (
            "github_member",
            "GitHub HMAC-SHA256 verify, 6 KiB body (typical `member`), 1 secret",
            MEMBER_BODY_BYTES,
            vec![secret.clone()],
        ),
    ] {
        let body = body_of(size);
        let header = github_app::sign_webhook_body(&secret, &body);
        let times = repeat(iterations, || {
            github_app::verify_webhook_signature(&secrets, Some(&header), &body).is_ok()
        });
        entries.push(finish(name, title, times, size));
    }

    let body = body_of(SLACK_BODY_BYTES);
    let clock = FixedClock::at("2026-01-05T09:00:00Z")
        .unwrap_or_else(|| FixedClock::new(chrono::DateTime::UNIX_EPOCH));
    let timestamp = lambda_kit::Clock::now(&clock).timestamp().to_string();
    let signature = slack_notify::sign(&secret, &timestamp, &body);
    let verifier = slack_notify::SignatureVerifier::new(secret.clone(), Some(previous));
    let times = repeat(iterations, || {
        verifier
            .verify(Some(&timestamp), Some(&signature), &body, &clock)
            .is_ok()
    });
    entries.push(finish(
        "slack_interaction",
        "Slack v0 signature verify, 4 KiB body, current + previous secret",
        times,
        SLACK_BODY_BYTES,
    ));
    entries
}

/// A JSON-looking body of exactly `size` bytes.
fn body_of(size: usize) -> Vec<u8> {
    let mut body = br#"{"action":"added","member":{"login":"bench"},"padding":""#.to_vec();
    let tail = br#""}"#;
    while body.len() + tail.len() < size {
        body.push(b'a' + (body.len() % 26) as u8);
    }
    body.extend_from_slice(tail);
    body.truncate(size);
    body
}

/// Times `check` `iterations` times after 3 warm-up calls; `None` when a verification fails.
fn repeat(iterations: usize, mut check: impl FnMut() -> bool) -> Option<Vec<Duration>> {
    for _ in 0..3 {
        if !check() {
            return None;
        }
    }
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        let ok = std::hint::black_box(check());
        times.push(started.elapsed());
        if !ok {
            return None;
        }
    }
    Some(times)
}

fn finish(name: &str, title: &str, times: Option<Vec<Duration>>, size: usize) -> Entry {
    match times {
        Some(times) => {
            let stats = Summary::of_millis(&times);
            let mut entry =
                Entry::timed("crypto", name, title, stats).with("body_bytes", size as u64);
            if let Some(s) = stats
                && s.median > 0.0
            {
                let mib_per_s = size as f64 / 1_048_576.0 / (s.median / 1000.0);
                entry = entry.with("throughput at median", format!("{mib_per_s:.1} MiB/s"));
            }
            entry
        }
        None => Entry::failed(
            "crypto",
            name,
            title,
            "a correctly signed body did not verify",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_exactly_the_requested_size() {
        assert_eq!(body_of(ONE_MIB).len(), ONE_MIB);
        assert_eq!(body_of(100).len(), 100);
    }

    #[test]
    fn every_signature_benchmark_verifies_its_signed_body() {
        let entries = run(2);
        assert_eq!(entries.len(), 4);
        for entry in entries {
            assert!(entry.stats.is_some_and(|s| s.n == 2), "{entry:?}");
        }
    }
}
