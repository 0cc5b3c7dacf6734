use serde_json::json;

use crate::spawn;

async fn post(url: &str, body: &str) -> (u16, String) {
    let resp = fake_kit::default_client()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn a_registered_webhook_posts_to_its_channel_and_answers_ok() {
    let fake = spawn().await;
    let url = fake.webhook_url("#alerts_it").unwrap();
    let body =
        json!({"text": "disk full", "username": "oncall-spoke alerts", "icon_emoji": ":atspoke:"});
    assert_eq!(post(&url, &body.to_string()).await, (200, "ok".to_owned()));
    let stored = fake.fake.messages("alerts_it");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].text, "disk full");
    assert_eq!(stored[0].via, "webhook");
    assert_eq!(stored[0].username.as_deref(), Some("oncall-spoke alerts"));
}

#[tokio::test]
async fn webhook_errors_use_slacks_status_codes_and_bodies() {
    let fake = spawn().await;
    let base = fake.base_url();
    let valid = json!({"text": "x"}).to_string();
    assert_eq!(
        post(
            &format!("{base}/services/T0FAKE0001/B0ALERTSIT/wrong"),
            &valid
        )
        .await,
        (404, "no_service".to_owned())
    );
    let alerts = fake.webhook_url("alerts_it").unwrap();
    assert_eq!(
        post(&alerts, "{not json").await,
        (400, "invalid_payload".to_owned())
    );
    assert_eq!(post(&alerts, "{}").await, (400, "no_text".to_owned()));
    let archived = fake.webhook_url("old-team").unwrap();
    assert_eq!(
        post(&archived, &valid).await,
        (410, "channel_is_archived".to_owned())
    );
    let prohibited = format!("{base}/services/T0FAKE0001/B0LOCKED01/testonlyProhibitedHook0001");
    assert_eq!(
        post(&prohibited, &valid).await,
        (403, "action_prohibited".to_owned())
    );
    assert!(fake.fake.messages("alerts_it").is_empty());
}

#[tokio::test]
async fn only_a_legacy_webhook_honours_a_channel_override() {
    let fake = spawn().await;
    let legacy = format!(
        "{}{}",
        fake.base_url(),
        fake.fake.default_webhook_path().unwrap()
    );
    let body = json!({"channel": "#it-team", "text": "to the team"}).to_string();
    assert_eq!(post(&legacy, &body).await.0, 200);
    assert_eq!(fake.fake.messages("it-team").len(), 1);
    let bound = fake.webhook_url("alerts_it").unwrap();
    assert_eq!(post(&bound, &body).await.0, 200);
    assert_eq!(fake.fake.messages("alerts_it").len(), 1);
    let nowhere = json!({"channel": "#nowhere", "text": "x"}).to_string();
    assert_eq!(
        post(&legacy, &nowhere).await,
        (404, "channel_not_found".to_owned())
    );
}
