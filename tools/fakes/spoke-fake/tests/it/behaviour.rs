//! F1–F13 and A1–A7 of the README ("Behaviour"), over HTTP.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

fn ids(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

// ---------------------------------------------------------------- F1, F2, F3

#[tokio::test]
async fn f1_a_missing_or_unknown_key_is_refused_with_code_11038_on_every_route() {
    let f = spawn().await;
    for path in [
        "/whoami",
        "/teams",
        &format!("/teams/{IT}"),
        "/requests",
        "/tags",
    ] {
        let r = f.call(Method::GET, path, None, None).await;
        assert_eq!(r.status, 403, "{path}");
        assert_eq!(r.body["code"], 11038);
        let r = f.call(Method::GET, path, Some("nope"), None).await;
        assert_eq!(r.body["code"], 11038);
    }
    let r = f
        .http
        .get(format!("{}/whoami", f.api()))
        .header("API-KEY", SVC_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "header names are case-insensitive");
}

#[tokio::test]
async fn f2_unknown_ids_and_addresses_give_404_with_code_11003() {
    let f = spawn().await;
    for path in [
        "/teams/ffffffffffffffffffffffff".to_owned(),
        "/users/ffffffffffffffffffffffff".to_owned(),
        "/users/email/nobody@example.com".to_owned(),
        "/requests/ffffffffffffffffffffffff".to_owned(),
        "/request_types/ffffffffffffffffffffffff".to_owned(),
    ] {
        let r = f.get(&path).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.body["code"], 11003);
    }
    let r = f
        .send(
            Method::PATCH,
            "/teams/ffffffffffffffffffffffff",
            json!({"settings": {}}),
        )
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn f3_malformed_input_gives_400_with_code_11008() {
    let f = spawn().await;
    let raw = f
        .http
        .post(format!("{}/requests", f.api()))
        .header("Api-Key", SVC_KEY)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    for path in [
        "/requests?status=OPEN,CLOSED",
        "/requests?filter=mine",
        "/requests?sort=random",
        "/users?limit=ten",
        "/teams?start=-1",
        "/users?status=GONE",
    ] {
        let r = f.get(path).await;
        assert_eq!(r.status, 400, "{path}");
        assert_eq!(r.body["code"], 11008);
    }
    let r = f
        .send(
            Method::POST,
            "/requests",
            json!({"subject": "no requester"}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = f
        .send(
            Method::PATCH,
            &format!("/teams/{IT}"),
            json!({"settings": {"delegation": {"strategy": "RANDOM"}}}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = f
        .send(
            Method::POST,
            "/requests",
            json!({"subject": "s", "requester": SVC, "privacyLevel": "secret"}),
        )
        .await;
    assert_eq!(r.status, 400);
}

// ---------------------------------------------------------------- F4, F5, F7

#[tokio::test]
async fn f4_list_envelopes_report_total_start_and_the_effective_limit() {
    let f =
        spawn_with(spoke_fake::SpokeFake::new(spoke_fake::minimal_seed_with_users(250)).unwrap())
            .await;
    let r = f.get("/users").await;
    assert_eq!(r.body["limit"], 10, "users default to 10");
    assert_eq!(r.body["total"], 258);
    assert_eq!(r.body["results"].as_array().unwrap().len(), 10);
    let r = f.get("/users?limit=500&start=5").await;
    assert_eq!(r.body["limit"], 100, "limit is capped at 100");
    assert_eq!(r.body["start"], 5);
    let r = f.get("/users?start=1000").await;
    assert_eq!(r.body["results"], json!([]));
    assert_eq!(r.body["total"], 258);
    let r = f.get("/teams").await;
    assert_eq!(r.body["limit"], 25);
    assert_eq!(ids(&r.body), vec![FACILITIES, IT], "teams sorted by name");
    let r = f.get("/tags?limit=1").await;
    assert_eq!(r.body["count"], 1, "/tags uses count");
    assert!(r.body.get("limit").is_none());
    assert_eq!(r.body["total"], 2);
}

#[tokio::test]
async fn f5_requests_default_to_open_and_the_inbox_and_filter_by_status_tag_and_text() {
    let f = spawn().await;
    let closed = f
        .send(
            Method::POST,
            "/requests",
            json!({"subject": "printer jam", "requester": SVC, "team": IT}),
        )
        .await;
    let closed_id = closed.body["id"].as_str().unwrap().to_owned();
    f.send(
        Method::PATCH,
        &format!("/requests/{closed_id}"),
        json!({"status": "RESOLVED"}),
    )
    .await;
    let r = f.get("/requests").await;
    assert_eq!(ids(&r.body), vec![SEEDED_REQUEST]);
    let r = f
        .get("/requests?status=OPEN,RESOLVED&sort=createdFirst")
        .await;
    assert_eq!(
        ids(&r.body),
        vec![SEEDED_REQUEST.to_owned(), closed_id.clone()]
    );
    let r = f.get("/requests?status=OPEN,RESOLVED&tag=none").await;
    assert_eq!(ids(&r.body), vec![closed_id.clone()]);
    let r = f
        .get(&format!(
            "/requests?status=OPEN,RESOLVED&tag={TAG_REMOVED},{TAG_ACTIVE}"
        ))
        .await;
    assert_eq!(ids(&r.body), vec![SEEDED_REQUEST]);
    let r = f
        .get("/requests?status=OPEN,RESOLVED&q=%22OCTOCAT%22")
        .await;
    assert_eq!(
        ids(&r.body),
        vec![SEEDED_REQUEST],
        "q matches answers, quotes stripped"
    );
    let r = f.get("/requests?status=RESOLVED&q=printer").await;
    assert_eq!(ids(&r.body), vec![closed_id]);
}

#[tokio::test]
async fn a1_inbox_unassigned_and_sent_follow_the_documented_reading() {
    let f = spawn().await;
    // The outsider is in no team and owns nothing: an empty inbox.
    let r = f
        .call(Method::GET, "/requests", Some(OUTSIDER_KEY), None)
        .await;
    assert_eq!(r.body["total"], 0);
    let r = f.get("/requests?filter=sent").await;
    assert_eq!(ids(&r.body), vec![SEEDED_REQUEST]);
    let r = f.get("/requests?filter=unassigned").await;
    assert_eq!(r.body["total"], 0);
}

#[tokio::test]
async fn f7_user_search_is_a_loose_substring_match() {
    let f = spawn().await;
    let r = f.get("/users?q=ann@example.com").await;
    let emails: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, vec!["ann@example.com", "joann@example.com"]);
    let r = f.get("/users?status=INVITED").await;
    assert_eq!(r.body["total"], 1);
}

// ---------------------------------------------------------------- F6

#[tokio::test]
async fn f6_objects_carry_both_ids_extra_fields_and_omit_unset_ones() {
    let f = spawn().await;
    let team = f.get(&format!("/teams/{IT}")).await.body;
    assert_eq!(team["id"], IT);
    assert_eq!(team["_id"], IT);
    assert!(team.get("canRoute").is_some() && team.get("teamType").is_some());
    assert!(
        team["settings"]["delegation"].get("specificUser").is_none(),
        "no specificUser under ROUND_ROBIN"
    );
    let user = f.get(&format!("/users/{ALICE}")).await.body;
    assert_eq!(user["_id"], ALICE);
    assert!(user.get("status").is_none());
    assert_eq!(user["memberships"][0]["status"], "ACTIVE");
    let created = f
        .send(
            Method::POST,
            "/requests",
            json!({"subject": "unassigned", "requester": SVC}),
        )
        .await
        .body;
    assert!(
        created.get("owner").is_none(),
        "no owner on an unassigned request"
    );
    assert!(created.get("cdcTransactionId").is_some());
}

#[tokio::test]
async fn e2_finds_addresses_case_insensitively_with_the_at_sign_encoded_or_not() {
    let f = spawn().await;
    let r = f.get("/users/email/A%2Bb%40Example.com").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["email"], "a+b@example.com");
    let r = f.get("/users/email/alice@example.com").await;
    assert_eq!(r.body["id"], ALICE);
}

// ---------------------------------------------------------------- F8, A2, A3

#[tokio::test]
async fn f8_patch_team_applies_only_known_keys_and_returns_the_full_team() {
    let f = spawn().await;
    let path = format!("/teams/{IT}");
    let before = f.get(&path).await.body;
    let r = f
        .send(
            Method::PATCH,
            &path,
            json!({"settings": {"delegation": {"strategy": "ROUND_ROBIN", "specifiedUser": BOB}}}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["settings"]["delegation"],
        before["settings"]["delegation"]
    );
    f.fake.kit().advance(chrono::Duration::seconds(5));
    let r = f
        .send(
            Method::PATCH,
            &path,
            json!({"settings": {"delegation": {"strategy": "SPECIFIC_USER", "specificUser": BOB}}}),
        )
        .await;
    assert_eq!(r.body["settings"]["delegation"]["specificUser"], BOB);
    assert_eq!(
        r.body["settings"]["flags"]["AUTO_DELEGATION"], true,
        "flags untouched"
    );
    assert_ne!(r.body["updatedAt"], before["updatedAt"]);
    assert_eq!(r.body["name"], "IT");
    let r = f
        .send(
            Method::PATCH,
            &path,
            json!({"settings": {"delegation": {"strategy": "ROUND_ROBIN"}}}),
        )
        .await;
    assert!(
        r.body["settings"]["delegation"]
            .get("specificUser")
            .is_none()
    );
}

#[tokio::test]
async fn a2_a_key_outside_the_team_may_not_patch_it_but_an_admin_may() {
    let f = spawn().await;
    let body =
        json!({"settings": {"delegation": {"strategy": "SPECIFIC_USER", "specificUser": BOB}}});
    let path = format!("/teams/{IT}");
    let r = f
        .call(Method::PATCH, &path, Some(OUTSIDER_KEY), Some(body.clone()))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["code"], 99001);
    let r = f
        .call(Method::PATCH, &path, Some(ADMIN_KEY), Some(body))
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn a3_specific_user_needs_an_agent_of_the_team() {
    let f = spawn().await;
    let path = format!("/teams/{IT}");
    for delegation in [
        json!({"strategy": "SPECIFIC_USER"}),
        json!({"strategy": "SPECIFIC_USER", "specificUser": "5f0c3a9e2b7d4c0012ab3406"}),
    ] {
        let r = f
            .send(
                Method::PATCH,
                &path,
                json!({"settings": {"delegation": delegation}}),
            )
            .await;
        assert_eq!(r.status, 400);
    }
}

// ---------------------------------------------------------------- F9, A4, A5

#[tokio::test]
async fn f9_created_requests_are_open_with_new_ids_increasing_permalinks_and_answers() {
    let f = spawn().await;
    let body = json!({
        "subject": "octocat Collaborator Access", "requester": SVC, "team": IT, "owner": ALICE,
        "privacyLevel": "private", "requestType": REQUEST_TYPE,
        "requestTypeInfo": {"answeredFields": [{"fieldId": FIELD_EXPIRY, "value": "2026-08-22"}]}
    });
    let a = f.send(Method::POST, "/requests", body.clone()).await;
    let b = f.send(Method::POST, "/requests", body).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["status"], "OPEN");
    assert_ne!(a.body["id"], b.body["id"]);
    assert_eq!(a.body["id"].as_str().unwrap().len(), 24);
    let n = |v: &Value| {
        v["permalink"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert_eq!(n(&b.body), n(&a.body) + 1);
    let answer = &a.body["requestTypeInfo"]["answeredFields"][0];
    assert_eq!(answer["simpleValue"], "2026-08-22");
    assert_eq!(answer["field"]["uuid"], FIELD_EXPIRY);
    assert_eq!(answer["field"]["label"], "Expiration date");
    assert_ne!(answer["uuid"], FIELD_EXPIRY);
    assert!(a.body["email"].as_str().unwrap().starts_with("request-"));
    assert_eq!(f.fake.request_count(), 3);
}

#[tokio::test]
async fn a4_non_admin_keys_file_only_for_themselves_with_known_form_fields() {
    let f = spawn().await;
    let r = f
        .send(
            Method::POST,
            "/requests",
            json!({"subject": "s", "requester": ALICE}),
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["code"], 99001);
    let r = f
        .call(
            Method::POST,
            "/requests",
            Some(ADMIN_KEY),
            Some(json!({"subject": "s", "requester": ALICE})),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = f
        .send(
            Method::POST,
            "/requests",
            json!({"subject": "s", "requester": SVC, "requestType": REQUEST_TYPE,
                   "requestTypeInfo": {"answeredFields": [{"fieldId": "not-a-field", "value": "x"}]}}),
        )
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn a5_auto_delegation_follows_the_team_strategy() {
    let f = spawn().await;
    let create = |team: &str| json!({"subject": "s", "requester": SVC, "team": team});
    let r = f.send(Method::POST, "/requests", create(FACILITIES)).await;
    assert_eq!(r.body["owner"], BOB, "SPECIFIC_USER");
    // IT: round robin over available agents (alice is AWAY): svc and bob alternate.
    let mut owners = Vec::new();
    for _ in 0..3 {
        let r = f.send(Method::POST, "/requests", create(IT)).await;
        owners.push(r.body["owner"].as_str().unwrap().to_owned());
    }
    assert_eq!(owners, vec![SVC, BOB, SVC]);
    f.send(
        Method::PATCH,
        &format!("/teams/{IT}"),
        json!({"settings": {"flags": {"AUTO_DELEGATION": false}}}),
    )
    .await;
    let r = f.send(Method::POST, "/requests", create(IT)).await;
    assert!(r.body.get("owner").is_none(), "auto-delegation off");
}

// ---------------------------------------------------------------- F10, F11, F12, A7

#[tokio::test]
async fn f10_patch_request_applies_fields_and_merges_answers_by_field_id() {
    let f = spawn().await;
    let path = format!("/requests/{SEEDED_REQUEST}");
    let r = f
        .send(
            Method::PATCH,
            &path,
            json!({"status": "RESOLVED", "requestTypeInfo": {"answeredFields": [
                {"fieldId": FIELD_EXPIRY, "value": "2027-08-22"}]}}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "RESOLVED");
    assert!(r.body["lastResolvedAt"].is_string());
    let answers = r.body["requestTypeInfo"]["answeredFields"]
        .as_array()
        .unwrap();
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[0]["simpleValue"], "2027-08-22");
    assert_eq!(answers[1]["simpleValue"], "octocat");
    let r = f
        .send(Method::PATCH, &path, json!({"status": "OPEN"}))
        .await;
    assert_eq!(r.body["status"], "OPEN");
}

#[tokio::test]
async fn f11_messages_must_be_posted_as_the_key_user_and_are_kept() {
    let f = spawn().await;
    let path = format!("/requests/{SEEDED_REQUEST}/messages");
    let msg = |actor: &str, text: &str| json!({"actor": {"kind": "User", "ref": actor}, "content": {"message": {"text": text}}});
    let r = f.send(Method::POST, &path, msg(ALICE, "hi")).await;
    assert_eq!(r.status, 403);
    let r = f.send(Method::POST, &path, msg(SVC, "  ")).await;
    assert_eq!(r.status, 400);
    let r = f
        .send(Method::POST, &path, msg(SVC, "Access extended."))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["content"]["message"]["text"], "Access extended.");
    let state = f.control.state().await;
    assert_eq!(
        state["messages"][0]["content"]["message"]["text"],
        "Access extended."
    );
    assert_eq!(f.fake.messages(SEEDED_REQUEST).len(), 1);
}

#[tokio::test]
async fn f12_a7_tags_are_added_without_duplicates_and_removed_idempotently() {
    let f = spawn().await;
    let path = format!("/requests/{SEEDED_REQUEST}/tags");
    let r = f
        .send(
            Method::PATCH,
            &path,
            json!({"tags": [{"_id": TAG_ACTIVE}, {"_id": TAG_REMOVED}]}),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        f.fake.request(SEEDED_REQUEST).unwrap()["tags"],
        json!([TAG_ACTIVE, TAG_REMOVED])
    );
    let r = f
        .send(
            Method::PATCH,
            &path,
            json!({"tags": [{"_id": "63dfffffffffffffffffffff"}]}),
        )
        .await;
    assert_eq!(r.status, 404, "unknown tag");
    let r = f
        .send(Method::PATCH, &path, json!({"tags": [TAG_ACTIVE]}))
        .await;
    assert_eq!(r.status, 400, "tags are objects, not strings");
    for _ in 0..2 {
        let r = f
            .call(
                Method::DELETE,
                &format!("{path}/{TAG_ACTIVE}"),
                Some(SVC_KEY),
                None,
            )
            .await;
        assert_eq!(r.status, 204);
    }
    assert_eq!(
        f.fake.request(SEEDED_REQUEST).unwrap()["tags"],
        json!([TAG_REMOVED])
    );
}

// ---------------------------------------------------------------- F13, A6, control API, faults

#[tokio::test]
async fn f13_every_response_carries_rate_limit_headers_and_a_date() {
    let f = spawn().await;
    for r in [f.get("/whoami").await, f.get("/teams/nope").await] {
        for h in [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "date",
        ] {
            assert!(r.headers.contains_key(h), "{h} on {}", r.status);
        }
    }
}

#[tokio::test]
async fn a6_rate_limited_calls_get_429_with_code_99429() {
    let f = spawn().await;
    let r = f
        .control
        .post(
            "/rate-limit",
            json!({"rejectNext": 1, "resetInSecs": 3, "retryAfter": true}),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = f.get("/whoami").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body["code"], 99429);
    assert_eq!(r.header("retry-after"), "3");
    assert_eq!(f.get("/whoami").await.status, 200);
}

#[tokio::test]
async fn state_redacts_api_keys_and_reset_restores_the_seed() {
    let f = spawn().await;
    f.send(
        Method::POST,
        "/requests",
        json!({"subject": "s", "requester": SVC}),
    )
    .await;
    let state = f.control.state().await;
    let text = state.to_string();
    assert!(!text.contains(SVC_KEY) && !text.contains(ADMIN_KEY));
    assert_eq!(state["apiKeys"][0]["key"], "[REDACTED]");
    assert_eq!(state["requests"].as_array().unwrap().len(), 2);
    let journal = Value::Array(f.control.journal().await);
    assert!(
        !journal.to_string().contains(SVC_KEY),
        "journal never holds the key"
    );
    assert_eq!(f.control.reset(None).await.status, 204);
    assert_eq!(f.fake.request_count(), 1);
}

#[tokio::test]
async fn cap_limit_serves_smaller_pages_and_echoes_the_limit() {
    let f =
        spawn_with(spoke_fake::SpokeFake::new(spoke_fake::minimal_seed_with_users(50)).unwrap())
            .await;
    f.fake
        .add_fault(Some("GET"), "/users", None, json!({"capLimit": 7}));
    let r = f.get("/users?limit=100").await;
    assert_eq!(r.body["limit"], 7);
    assert_eq!(r.body["results"].as_array().unwrap().len(), 7);
    assert_eq!(r.body["total"], 58);
}

#[tokio::test]
async fn ignore_write_answers_success_and_changes_nothing() {
    let f = spawn().await;
    f.fake.add_fault(
        Some("PATCH"),
        "/teams/*",
        Some(1),
        json!({"ignoreWrite": true}),
    );
    let r = f.hand_it_to_bob().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["settings"]["delegation"]["strategy"], "ROUND_ROBIN");
    assert_eq!(
        f.fake.team(IT).unwrap()["settings"]["delegation"]["strategy"],
        "ROUND_ROBIN"
    );
}

#[tokio::test]
async fn commit_then_delay_applies_the_write_before_stalling() {
    let f = spawn().await;
    f.fake.add_fault(
        Some("POST"),
        "/requests",
        Some(1),
        json!({"commitThenDelayMs": 3000}),
    );
    let http = fake_kit::client_builder()
        .timeout(std::time::Duration::from_millis(500))
        .build()
        .unwrap();
    let err = http
        .post(format!("{}/requests", f.api()))
        .header("Api-Key", SVC_KEY)
        .json(&json!({"subject": "s", "requester": SVC}))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(
        f.fake.request_count(),
        2,
        "committed although the caller timed out"
    );
}

#[tokio::test]
async fn malformed_body_fault_answers_200_with_non_json() {
    let f = spawn().await;
    f.fake.add_fault(
        Some("GET"),
        "/whoami",
        Some(1),
        json!({"malformedBody": true}),
    );
    let r = f.get("/whoami").await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_string(), "not JSON");
}

#[tokio::test]
async fn whoami_names_the_key_user() {
    let f = spawn().await;
    let r = f.get("/whoami").await;
    assert_eq!(
        r.body,
        json!({"org": "example", "user": SVC, "displayName": "oncall-spoke api-user",
               "role": "MEMBER", "status": "ACTIVE"})
    );
}

#[tokio::test]
async fn the_demo_seed_loads_with_the_collaborator_form() {
    let fake = spoke_fake::SpokeFake::demo().unwrap();
    let state = fake.state_json();
    let labels: Vec<&str> = state["requestTypes"][0]["form"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        vec![
            "Expiration date",
            "GitHub handle",
            "Email",
            "Organization",
            "Repositories",
            "Added by"
        ]
    );
    let teams: Vec<&str> = state["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(teams, vec!["IT", "Facilities"]);
}
