use lambda_kit::FixedClock;
use serde_json::{Value, json};
use slack_notify::{ChannelId, Message, SignatureError, SignatureVerifier};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{client_for, fake, secret};

/// A stand-in for `/slack/interactions` that answers 200 and keeps what it received.
async fn receiver() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    server
}

/// Verifies the one received request like cls-webhook does (current + previous secret), at `now`.
async fn verify_received(
    server: &MockServer,
    signing_secret: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), SignatureError> {
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    let get = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
    let verifier =
        SignatureVerifier::new(secret("rotated-new-secret"), Some(secret(signing_secret)));
    verifier.verify(
        get("x-slack-request-timestamp"),
        get("x-slack-signature"),
        &request.body,
        &FixedClock::new(now),
    )
}

async fn click(fake: &slack_fake::SpawnedSlackFake, url: &str, extra: Value) -> Value {
    let client = client_for(fake, &fake.fake.bot_token());
    let message =
        Message::text("r").block(slack_notify::Block::actions([slack_notify::Button::new(
            "cls_extend",
            "Extend",
        )
        .value("v")]));
    let posted = client
        .post_message(&ChannelId::new("#it-team"), &message)
        .await
        .unwrap();
    let mut body = json!({"url": url, "user": "U0ALICE001", "channel": posted.channel, "ts": posted.ts, "action_id": "cls_extend"});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    lambda_kit::http::default_client()
        .post(format!("{}/__fake/interactions/send", fake.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_click_signed_by_the_fake_verifies_with_the_previous_secret_during_rotation() {
    let fake = fake().await;
    let server = receiver().await;
    let answer = click(
        &fake,
        &format!("{}/slack/interactions", server.uri()),
        json!({}),
    )
    .await;
    assert_eq!(answer["status"], 200);
    let now = fake.fake.kit().now();
    assert_eq!(
        verify_received(&server, &fake.fake.signing_secret(), now).await,
        Ok(())
    );
}

#[tokio::test]
async fn a_stale_click_is_rejected() {
    let fake = fake().await;
    let server = receiver().await;
    let now = fake.fake.kit().now();
    let stale = now.timestamp() - 301;
    click(
        &fake,
        &format!("{}/slack/interactions", server.uri()),
        json!({"timestamp": stale}),
    )
    .await;
    assert_eq!(
        verify_received(&server, &fake.fake.signing_secret(), now).await,
        Err(SignatureError::Stale)
    );
}

#[tokio::test]
async fn a_click_signed_with_another_secret_is_a_mismatch() {
    let fake = fake().await;
    let server = receiver().await;
    click(
        &fake,
        &format!("{}/slack/interactions", server.uri()),
        json!({"signingSecret": "not-the-secret"}),
    )
    .await;
    let now = fake.fake.kit().now();
    assert_eq!(
        verify_received(&server, &fake.fake.signing_secret(), now).await,
        Err(SignatureError::Mismatch)
    );
}
#[test]
fn slacks_published_vector_verifies_through_the_public_api() {
    let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    let expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    let verifier = SignatureVerifier::new(secret("8f742231b10e8888abcd99yyyzzz85a5"), None);
    let at = |secs| FixedClock::new(chrono::DateTime::from_timestamp(secs, 0).unwrap());
    assert_eq!(
        verifier.verify(
            Some("1531420618"),
            Some(expected),
            body.as_bytes(),
            &at(1_531_420_700)
        ),
        Ok(())
    );
    assert_eq!(
        verifier.verify(
            Some("1531420618"),
            Some(expected),
            body.as_bytes(),
            &at(1_531_420_919)
        ),
        Err(SignatureError::Stale)
    );
}
