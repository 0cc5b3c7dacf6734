//! The behaviour of the README over HTTP.

use serde_json::json;

use crate::support::{KEY, spawn, spawn_seeded, who};

const AT_10: &str = "since=2026-03-02T10:00:00Z&until=2026-03-02T10:00:00Z";

fn pair(user: &str, start: &str) -> (String, String) {
    (user.to_owned(), start.to_owned())
}

#[tokio::test]
async fn refuses_a_call_without_a_known_token_with_401() {
    let fake = spawn().await;
    for key in [None, Some("not-a-key")] {
        let reply = fake.get_as("/oncalls", key).await;
        assert_eq!(reply.status, 401, "{key:?}");
        assert_eq!(reply.body["error"]["message"], "Authentication failed");
    }
    let bearer = fake_kit::default_client()
        .get(format!("{}/oncalls", fake.server.base_url()))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(
        bearer.status().as_u16(),
        401,
        "a bearer token is not PagerDuty's scheme"
    );
    assert_eq!(fake.get("/oncalls").await.status, 200);
    let journal = fake.control.journal().await;
    assert_eq!(
        journal.last().unwrap()["headers"]["authorization"],
        "[REDACTED]"
    );
}

#[tokio::test]
async fn the_level_one_on_call_moves_with_the_rotation_and_level_two_is_permanent() {
    let fake = spawn().await;
    let page = fake
        .oncalls(&format!("escalation_policy_ids[]=PEPIT01&{AT_10}"))
        .await;
    assert_eq!(
        who(&page),
        [
            pair("PU00001", "2026-03-02T09:00:00Z"),
            pair("PU00010", "permanent")
        ]
    );
    let first = &page["oncalls"][0];
    assert_eq!(first["escalation_level"], 1);
    assert_eq!(first["end"], "2026-03-02T17:00:00Z");
    assert_eq!(first["schedule"]["id"], "PSIT001");
    assert_eq!(first["schedule"]["type"], "schedule_reference");
    assert_eq!(first["escalation_policy"]["summary"], "IT");
    assert_eq!(first["user"]["type"], "user_reference");
    assert_eq!(page["oncalls"][1]["schedule"], serde_json::Value::Null);
    assert_eq!(page["oncalls"][1]["end"], serde_json::Value::Null);

    let later = fake
        .oncalls(
            "escalation_policy_ids[]=PEPIT01&since=2026-03-02T17:30:00Z&until=2026-03-02T17:30:00Z",
        )
        .await;
    assert_eq!(who(&later)[0], pair("PU00002", "2026-03-02T17:00:00Z"));
}

#[tokio::test]
async fn without_a_range_the_fake_clock_decides_who_is_on_call_now() {
    let fake = spawn().await;
    fake.control.set_clock("2026-03-03T02:00:00Z").await;
    let page = fake.oncalls("escalation_policy_ids[]=PEPIT01").await;
    assert_eq!(who(&page)[0], pair("PU00003", "2026-03-03T01:00:00Z"));
    fake.control.advance_clock(8 * 3600).await;
    let page = fake.oncalls("escalation_policy_ids[]=PEPIT01").await;
    assert_eq!(who(&page)[0], pair("PU00001", "2026-03-03T09:00:00Z"));
}

#[tokio::test]
async fn an_override_puts_its_user_on_call_from_its_start() {
    let fake = spawn().await;
    let created = fake
        .control
        .expect_ok(
            "/overrides",
            json!({"schedule": "PSIT001", "user": "PU00006", "start": "2026-03-02T12:00:00Z", "end": "2026-03-02T14:00:00Z"}),
        )
        .await;
    assert!(created["id"].as_str().unwrap().starts_with("PO"));
    let during = fake
        .oncalls(
            "escalation_policy_ids[]=PEPIT01&since=2026-03-02T12:30:00Z&until=2026-03-02T12:30:00Z",
        )
        .await;
    assert_eq!(during["oncalls"][0]["user"]["id"], "PU00006");
    assert_eq!(during["oncalls"][0]["start"], "2026-03-02T12:00:00Z");
    assert_eq!(during["oncalls"][0]["end"], "2026-03-02T14:00:00Z");
    let before = fake
        .oncalls(
            "escalation_policy_ids[]=PEPIT01&since=2026-03-02T11:59:59Z&until=2026-03-02T11:59:59Z",
        )
        .await;
    assert_eq!(before["oncalls"][0]["user"]["id"], "PU00001");
    assert_eq!(before["oncalls"][0]["end"], "2026-03-02T12:00:00Z");
    let refused = fake
        .control
        .post(
            "/overrides",
            json!({"schedule": "PSIT001", "user": "PU99999"}),
        )
        .await;
    assert_eq!(refused.status, 400);
}

#[tokio::test]
async fn a_range_returns_every_span_and_earliest_keeps_the_first_of_each_user() {
    let fake = spawn().await;
    let range =
        "escalation_policy_ids[]=PEPIT01&since=2026-03-02T10:00:00Z&until=2026-03-03T10:00:00Z";
    let all = fake.oncalls(range).await;
    assert_eq!(
        who(&all),
        [
            pair("PU00001", "2026-03-02T09:00:00Z"),
            pair("PU00002", "2026-03-02T17:00:00Z"),
            pair("PU00003", "2026-03-03T01:00:00Z"),
            pair("PU00001", "2026-03-03T09:00:00Z"),
            pair("PU00010", "permanent"),
        ]
    );
    let earliest = fake.oncalls(&format!("{range}&earliest=true")).await;
    let level_one: Vec<_> = who(&earliest).into_iter().take(3).collect();
    assert_eq!(
        level_one,
        [
            pair("PU00001", "2026-03-02T09:00:00Z"),
            pair("PU00002", "2026-03-02T17:00:00Z"),
            pair("PU00003", "2026-03-03T01:00:00Z"),
        ]
    );
    assert_eq!(earliest["oncalls"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn include_users_shows_the_email_and_leaves_it_out_when_there_is_none() {
    let fake = spawn().await;
    fake.fake
        .add_override(
            "PSFAC01",
            "PU00007",
            "2026-03-02T10:00:00Z",
            "2026-03-02T11:00:00Z",
        )
        .unwrap();
    let page = fake
        .oncalls(&format!("escalation_policy_ids[]=PEPIT01&escalation_policy_ids[]=PEPFAC1&include[]=users&{AT_10}"))
        .await;
    let users: Vec<_> = page["oncalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["escalation_level"] == 1)
        .map(|e| e["user"].clone())
        .collect();
    assert_eq!(users[0]["type"], "user");
    assert_eq!(users[0]["email"], "alice@example.com");
    assert_eq!(users[1]["id"], "PU00007");
    assert_eq!(users[1]["name"], "Pat Contractor");
    assert!(users[1].get("email").is_none(), "{}", users[1]);
}

#[tokio::test]
async fn filters_by_schedule_and_ignores_a_filter_without_brackets() {
    let fake = spawn().await;
    let by_schedule = fake
        .oncalls(&format!("schedule_ids[]=PSFAC01&{AT_10}"))
        .await;
    assert_eq!(who(&by_schedule), [pair("PU00004", "2026-03-02T09:00:00Z")]);
    let misspelt = fake
        .oncalls(&format!("escalation_policy_ids=PEPIT01&{AT_10}"))
        .await;
    assert_eq!(
        misspelt["oncalls"].as_array().unwrap().len(),
        4,
        "every policy's on-calls"
    );
}

#[tokio::test]
async fn pages_by_offset_and_limit_with_more_until_the_last_page() {
    let fake = spawn_seeded(pagerduty_fake::paging_seed(KEY, 7)).await;
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut offset = 0;
    loop {
        let page = fake
            .oncalls(&format!("earliest=true&limit=3&offset={offset}&total=true"))
            .await;
        assert_eq!(page["total"], 7);
        seen.extend(who(&page).into_iter().map(|(user, _)| user));
        pages.push(page["more"].as_bool().unwrap());
        if !page["more"].as_bool().unwrap() {
            break;
        }
        offset += 3;
    }
    assert_eq!(pages, [true, true, false]);
    assert_eq!(seen.len(), 7);
    assert_eq!(seen[6], "PUPAGE006");
    let default = fake.oncalls("").await;
    assert_eq!(
        (default["limit"].as_u64(), default["total"].is_null()),
        (Some(25), true)
    );
    assert_eq!(fake.oncalls("limit=500").await["limit"], 100);
}

#[tokio::test]
async fn an_invalid_range_is_invalid_input() {
    let fake = spawn().await;
    let reply = fake
        .get("/oncalls?since=2026-03-02T10:00:00Z&until=2026-03-01T10:00:00Z")
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["error"]["code"], 2001);
    assert!(
        reply.body["error"]["errors"][0]
            .as_str()
            .unwrap()
            .contains("until")
    );
}

#[tokio::test]
async fn a_rate_limited_call_names_its_reset_in_pagerduty_headers() {
    let fake = spawn().await;
    fake.control
        .rate_limit(json!({"rejectNext": 1, "resetInSecs": 7}))
        .await;
    let limited = fake.get("/oncalls").await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("ratelimit-reset"), "7");
    assert_eq!(limited.header("ratelimit-remaining"), "0");
    assert_eq!(limited.header("x-ratelimit-reset"), "");
    assert_eq!(limited.body["error"]["code"], 2020);
    assert_eq!(fake.get("/oncalls").await.status, 200);
}

#[tokio::test]
async fn a_fault_rule_answers_a_server_error_once() {
    let fake = spawn().await;
    fake.control
        .fault("GET", "/oncalls", 1, json!({"status": 503}))
        .await;
    assert_eq!(fake.get("/oncalls").await.status, 503);
    assert_eq!(fake.get("/oncalls").await.status, 200);
}

#[tokio::test]
async fn the_state_shows_keys_as_fingerprints_and_a_reset_drops_overrides() {
    let fake = spawn().await;
    fake.fake
        .add_override(
            "PSIT001",
            "PU00006",
            "2026-03-02T12:00:00Z",
            "2026-03-02T13:00:00Z",
        )
        .unwrap();
    let state = fake.control.state().await;
    assert!(!state.to_string().contains(KEY));
    assert_eq!(state["apiKeys"][0], fake_kit::fingerprint(KEY));
    assert_eq!(
        state["schedules"][0]["overrides"].as_array().unwrap().len(),
        1
    );
    assert_eq!(fake.control.reset(None).await.status, 204);
    let state = fake.control.state().await;
    assert!(
        state["schedules"][0]["overrides"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        fake.get("/users/PU00001").await.body["user"]["email"],
        "alice@example.com"
    );
    assert_eq!(fake.get("/users/PU99999").await.status, 404);
}
