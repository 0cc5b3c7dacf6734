//! Where the fake refuses what the real API refuses (README, "Strictness"): each test fails against the
//! lenient behaviour it replaced.

use reqwest::Method;
use serde_json::json;

use crate::support::*;

const OUTSIDER: &str = "5f0c3a9e2b7d4c0012ab3406";

#[tokio::test]
async fn a_json_body_without_a_json_content_type_is_malformed() {
    let f = spawn().await;
    let body = json!({"subject": "s", "requester": SVC}).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut req = f
            .http
            .post(format!("{}/requests", f.api()))
            .header("Api-Key", SVC_KEY)
            .body(body.clone());
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        let r = fake_kit::testing::send(req).await;
        assert_eq!(r.status, 400, "{content_type:?}");
        assert_eq!(r.body["code"], 11008);
    }
    assert_eq!(f.fake.request_count(), 1, "nothing was created");
    let r = fake_kit::testing::send(
        f.http
            .post(format!("{}/requests", f.api()))
            .header("Api-Key", SVC_KEY)
            .header("Content-Type", "application/json; charset=utf-8")
            .body(body),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

#[tokio::test]
async fn patch_refuses_the_statuses_the_api_does_not_accept() {
    let f = spawn().await;
    let path = format!("/requests/{SEEDED_REQUEST}");
    for status in ["PENDING", "LOCKED", "CLOSED"] {
        let r = f
            .send(Method::PATCH, &path, json!({"status": status}))
            .await;
        assert_eq!(r.status, 400, "{status}");
        assert_eq!(r.body["code"], 11008);
    }
    assert_eq!(f.fake.request(SEEDED_REQUEST).unwrap()["status"], "OPEN");
    let r = f
        .send(Method::PATCH, &path, json!({"status": "RESOLVED"}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "RESOLVED");
    let listed = f.get("/requests?status=PENDING,LOCKED").await;
    assert_eq!(listed.status, 200, "PENDING and LOCKED still filter lists");
}

#[tokio::test]
async fn a_faulted_429_names_its_reset_and_is_dated_by_the_fake_clock() {
    let f = spawn().await;
    f.control.set_clock("2031-02-03T04:05:06Z").await;
    f.control
        .fault("GET", "/whoami", 1, json!({"status": 429}))
        .await;
    let r = f.get("/whoami").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("x-ratelimit-remaining"), "0");
    let reset: i64 = r.header("x-ratelimit-reset").parse().unwrap();
    assert!(reset > f.fake.kit().now().timestamp());
    assert_eq!(r.header("date"), "Mon, 03 Feb 2031 04:05:06 GMT");
}

#[tokio::test]
async fn strict_privacy_hides_private_requests_from_keys_not_involved() {
    let f = spawn().await;
    let path = format!("/requests/{SEEDED_REQUEST}");
    let as_outsider = |method: Method, body| f.call(method, &path, Some(OUTSIDER_KEY), body);
    assert_eq!(
        as_outsider(Method::GET, None).await.status,
        200,
        "lenient by default"
    );

    let on = f.control.post("/privacy", json!({"strict": true})).await;
    assert_eq!(on.status, 200);
    assert_eq!(f.control.state().await["strictPrivacy"], true);
    assert_eq!(as_outsider(Method::GET, None).await.status, 404);
    let patch = as_outsider(Method::PATCH, Some(json!({"subject": "mine now"}))).await;
    assert_eq!(patch.status, 404);
    let listed = f
        .call(
            Method::GET,
            "/requests?filter=sent&status=OPEN",
            Some(OUTSIDER_KEY),
            None,
        )
        .await;
    assert_eq!(listed.body["total"], 0);
    let admin = f.call(Method::GET, &path, Some(ADMIN_KEY), None).await;
    assert_eq!(
        admin.status, 404,
        "an admin outside the team does not see a team's private request"
    );

    // The requester (and agents of the team, and the owner) still see it, in lists too.
    assert_eq!(f.get(&path).await.status, 200);
    let found = f.get("/requests?q=octocat&status=OPEN").await;
    assert_eq!(found.body["total"], 1);

    // A public request is seen by everyone; an unteamed private one by org admins.
    let public = f
        .call(
            Method::POST,
            "/requests",
            Some(OUTSIDER_KEY),
            Some(json!({"subject": "printer", "requester": OUTSIDER, "privacyLevel": "public"})),
        )
        .await;
    let public_id = public.body["id"].as_str().unwrap().to_owned();
    let private = f
        .send(
            Method::POST,
            "/requests",
            json!({"subject": "salary", "requester": SVC, "privacyLevel": "private"}),
        )
        .await;
    let private_id = private.body["id"].as_str().unwrap().to_owned();
    assert_eq!(f.get(&format!("/requests/{public_id}")).await.status, 200);
    let by_admin = f
        .call(
            Method::GET,
            &format!("/requests/{private_id}"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(by_admin.status, 200);
    let by_outsider = f
        .call(
            Method::GET,
            &format!("/requests/{private_id}"),
            Some(OUTSIDER_KEY),
            None,
        )
        .await;
    assert_eq!(by_outsider.status, 404);

    assert_eq!(f.control.reset(None).await.status, 204);
    assert_eq!(
        as_outsider(Method::GET, None).await.status,
        200,
        "a reset restores the seed's mode"
    );
}
