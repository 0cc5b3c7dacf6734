//! Pacing under a low rate-limit budget ("Retries" in the crate README): a client that keeps calling through
//! several of Spoke's windows spreads the end of each window's budget instead of running into 429s.

use std::time::{Duration, Instant};

use serde_json::json;
use spoke_client::SpokeApi;

use crate::support::*;

#[tokio::test]
async fn calls_through_three_windows_are_paced_and_never_refused() {
    let f = spawn().await;
    f.control("/rate-limit", json!({"limit": 20, "windowSecs": 2}))
        .await;
    let started = Instant::now();
    for call in 0..50 {
        f.client
            .whoami()
            .await
            .unwrap_or_else(|e| panic!("call {call}: {e}"));
    }
    let took = started.elapsed();
    let statuses: Vec<u16> = f
        .fake
        .kit()
        .calls("GET", "/whoami")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses.len(), 50, "one request per call, no retries");
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(f.client.retries(), 0);
    // 50 calls at 20 per 2-second window need the third window; pacing never waits past a reset it knows.
    assert!(took >= Duration::from_secs(2), "{took:?}");
    assert!(took < Duration::from_secs(9), "{took:?}");
}

#[tokio::test]
async fn a_budget_far_from_low_adds_no_wait() {
    let f = spawn().await;
    f.control("/rate-limit", json!({"limit": 1000, "windowSecs": 60}))
        .await;
    let started = Instant::now();
    for _ in 0..20 {
        f.client.whoami().await.unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let rate = f.client.rate_limit().unwrap();
    assert_eq!(rate.limit, Some(1000));
    assert!(rate.remaining.is_some_and(|r| r <= 980), "{rate:?}");
}
