use std::time::{Duration, Instant};

use serde_json::json;
use slack_notify::{
    Block, Button, ButtonStyle, ChannelId, Message, MessageTs, ResponseMessage, SlackApi,
    SlackClient, SlackEndpoints, SlackError, UserId,
};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{add_fault, calls, client_for, fake, http, quick_policy, secret};

fn reminder() -> Message {
    Message::text("reminder")
        .block(Block::section("*octocat* expires soon"))
        .block(
            Block::actions([
                Button::new("cls_extend", "Extend 90 days")
                    .style(ButtonStyle::Primary)
                    .value("{\"t\":\"1\"}"),
                Button::new("cls_let_expire", "Let it expire").value("{\"t\":\"1\"}"),
            ])
            .block_id("cls-1"),
        )
}

#[tokio::test]
async fn resolves_a_user_opens_a_dm_posts_and_updates_the_message() {
    let fake = fake().await;
    let client = client_for(&fake, &fake.fake.bot_token());
    let user = client
        .lookup_user_by_email("alice@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user, UserId::new("U0ALICE001"));
    let dm = client.open_conversation(&user).await.unwrap();
    let posted = client.post_message(&dm, &reminder()).await.unwrap();
    assert_eq!(posted.channel, dm);
    let stored = fake.fake.dm_messages("U0ALICE001");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].blocks.len(), 2);

    let outcome =
        Message::text("Extended").block(Block::context("Extended to 2027-08-10 by @alice"));
    client
        .update_message(&posted.channel, &posted.ts, &outcome)
        .await
        .unwrap();
    let stored = fake.fake.dm_messages("U0ALICE001");
    assert_eq!(stored[0].text, "Extended");
    assert_eq!(stored[0].blocks.len(), 1, "the buttons were replaced");
}

#[tokio::test]
async fn an_unknown_email_is_none_not_an_error() {
    let fake = fake().await;
    let client = client_for(&fake, &fake.fake.bot_token());
    assert_eq!(
        client
            .lookup_user_by_email("nobody@example.com")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        client
            .lookup_user_by_email("gone@example.com")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn ok_false_answers_map_to_typed_errors() {
    let fake = fake().await;
    let client = client_for(&fake, &fake.fake.bot_token());
    let archived = client
        .post_message(&ChannelId::new("C0OLDTEAM1"), &Message::text("x"))
        .await
        .unwrap_err();
    assert!(matches!(archived, SlackError::ChannelArchived));
    let missing = client
        .post_message(&ChannelId::new("C0NOWHERE0"), &Message::text("x"))
        .await
        .unwrap_err();
    assert!(matches!(missing, SlackError::ChannelNotFound));
    let no_msg = client
        .update_message(
            &ChannelId::new("C0ITTEAM01"),
            &MessageTs::new("1.000001"),
            &Message::text("x"),
        )
        .await
        .unwrap_err();
    assert!(matches!(no_msg, SlackError::MessageNotFound));
    let unknown_user = client
        .open_conversation(&UserId::new("U0NOBODY00"))
        .await
        .unwrap_err();
    assert!(matches!(unknown_user, SlackError::Api { ref error } if error == "user_not_found"));
    assert!(!unknown_user.is_transient());

    let wrong = client_for(&fake, "xoxb-wrong");
    let err = wrong
        .lookup_user_by_email("alice@example.com")
        .await
        .unwrap_err();
    assert!(matches!(err, SlackError::InvalidAuth { ref error } if error == "invalid_auth"));
    assert_eq!(
        calls(&fake, "POST", "/api/users.lookupByEmail"),
        1,
        "auth errors are not retried"
    );
}

#[tokio::test]
async fn the_bot_token_is_sent_as_a_bearer_header() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/conversations.open"))
        .and(header("authorization", "Bearer xoxb-test"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": {"id": "D1"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let endpoints =
        SlackEndpoints::new(&format!("{}/api", server.uri()), "http://127.0.0.1/").unwrap();
    let client = SlackClient::new(http(), endpoints, secret("xoxb-test"));
    assert_eq!(
        client.open_conversation(&UserId::new("U1")).await.unwrap(),
        ChannelId::new("D1")
    );
}

#[tokio::test]
async fn post_message_waits_out_a_429_but_never_repeats_after_a_server_error() {
    let fake = fake().await;
    let client = client_for(&fake, &fake.fake.bot_token());
    add_fault(
        &fake,
        json!({"path": "/api/chat.postMessage", "times": 1,
               "action": {"status": 429, "retryAfter": 1, "body": {"ok": false, "error": "ratelimited"}}}),
    )
    .await;
    let started = Instant::now();
    client
        .post_message(&ChannelId::new("#it-team"), &Message::text("x"))
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(calls(&fake, "POST", "/api/chat.postMessage"), 2);

    fake.fake.kit().clear_journal();
    add_fault(
        &fake,
        json!({"path": "/api/chat.postMessage", "times": 1, "action": {"status": 500}}),
    )
    .await;
    let err = client
        .post_message(&ChannelId::new("#it-team"), &Message::text("y"))
        .await
        .unwrap_err();
    assert!(matches!(err, SlackError::Server { status: 500 }));
    assert_eq!(
        calls(&fake, "POST", "/api/chat.postMessage"),
        1,
        "a non-idempotent post is not repeated"
    );
    assert_eq!(fake.fake.messages("it-team").len(), 1);
}

#[tokio::test]
async fn idempotent_calls_retry_server_errors() {
    let fake = fake().await;
    let client = client_for(&fake, &fake.fake.bot_token());
    add_fault(
        &fake,
        json!({"path": "/api/users.lookupByEmail", "times": 2, "action": {"status": 502}}),
    )
    .await;
    let user = client
        .lookup_user_by_email("bob@example.com")
        .await
        .unwrap();
    assert_eq!(user, Some(UserId::new("U0BOB00001")));
    assert_eq!(calls(&fake, "POST", "/api/users.lookupByEmail"), 3);
}

#[tokio::test]
async fn a_slow_answer_times_out_and_a_post_is_not_repeated() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "channel": "C1", "ts": "1.1"}))
                .set_delay(Duration::from_millis(600)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let endpoints =
        SlackEndpoints::new(&format!("{}/api", server.uri()), "http://127.0.0.1/").unwrap();
    let client =
        SlackClient::new(http(), endpoints, secret("xoxb-test")).with_retry_policy(quick_policy());
    let err = client
        .post_message(&ChannelId::new("C1"), &Message::text("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, SlackError::Timeout), "{err:?}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn a_non_json_answer_is_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>"))
        .mount(&server)
        .await;
    let endpoints =
        SlackEndpoints::new(&format!("{}/api", server.uri()), "http://127.0.0.1/").unwrap();
    let client =
        SlackClient::new(http(), endpoints, secret("xoxb-test")).with_retry_policy(quick_policy());
    let err = client
        .open_conversation(&UserId::new("U1"))
        .await
        .unwrap_err();
    assert!(matches!(err, SlackError::Decode(_)), "{err:?}");
}

#[tokio::test]
async fn replies_through_a_response_url_of_the_configured_prefix_only() {
    let fake = fake().await;
    let client = client_for(&fake, &fake.fake.bot_token());
    let posted = client
        .post_message(&ChannelId::new("#it-team"), &reminder())
        .await
        .unwrap();
    let created: serde_json::Value = lambda_kit::http::default_client()
        .post(format!("{}/__fake/response-urls", fake.base_url()))
        .json(&json!({"channel": posted.channel, "ts": posted.ts}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = created["responseUrl"].as_str().unwrap();
    let reply = ResponseMessage::ephemeral(
        "Only the person who added octocat or an IT admin can extend this access.",
    );
    client.respond(url, &reply).await.unwrap();
    let posts = fake.fake.response_url_posts();
    assert_eq!(posts[0][0]["response_type"], "ephemeral");

    let refused = client
        .respond("https://evil.example/actions/1", &reply)
        .await
        .unwrap_err();
    assert!(matches!(refused, SlackError::ResponseUrlRefused));
    assert!(!refused.to_string().contains("evil.example"));

    for _ in 0..4 {
        client.respond(url, &reply).await.unwrap();
    }
    let used = client.respond(url, &reply).await.unwrap_err();
    assert!(
        matches!(used, SlackError::Api { ref error } if error == "used_url"),
        "{used:?}"
    );
    assert!(!used.is_transient());
}

#[tokio::test]
async fn the_client_works_as_a_trait_object() {
    let fake = fake().await;
    let api: std::sync::Arc<dyn SlackApi> =
        std::sync::Arc::new(client_for(&fake, &fake.fake.bot_token()));
    let user = api.lookup_user_by_email("bob@example.com").await.unwrap();
    assert_eq!(user, Some(UserId::new("U0BOB00001")));
}
