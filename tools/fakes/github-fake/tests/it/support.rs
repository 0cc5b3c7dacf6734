use chrono::{DateTime, Utc};
use github_fake::GithubFake;
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::{HeaderMap, HeaderValue, USER_AGENT};
use serde_json::{Value, json};
use sha2::Sha256;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const T0: &str = "2026-05-12T12:00:00Z";

pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(T0)
        .unwrap()
        .with_timezone(&Utc)
}

/// An App JWT signed with the committed test key.
pub fn jwt(iss: Value, iat: i64, exp: i64) -> String {
    let key = EncodingKey::from_rsa_pem(github_fake::TEST_APP_PRIVATE_KEY_PEM.as_bytes()).unwrap();
    jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &json!({"iss": iss, "iat": iat, "exp": exp}),
        &key,
    )
    .unwrap()
}

/// A valid App JWT for the fake's App at `now`.
pub fn good_jwt(fake: &GithubFake, now: DateTime<Utc>) -> String {
    jwt(
        json!(fake.app_id().to_string()),
        now.timestamp() - 60,
        now.timestamp() + 540,
    )
}

/// `X-Hub-Signature-256` of `body` under `secret`.
pub fn expected_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A webhook receiver answering every POST with `status`.
pub async fn receiver(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status).set_body_json(json!({"status": "queued"})))
        .mount(&server)
        .await;
    server
}

/// A client as GitHub wants one: `User-Agent` and `X-GitHub-Api-Version` on every call, redirects not followed.
pub fn github_client() -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert(USER_AGENT, HeaderValue::from_static("github-fake-tests"));
    headers.insert(
        "x-github-api-version",
        HeaderValue::from_static("2022-11-28"),
    );
    fake_kit::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

pub struct Running {
    pub fake: GithubFake,
    pub server: fake_kit::RunningServer,
    /// A [`github_client`].
    pub http: reqwest::Client,
}

impl Running {
    pub async fn start(fake: GithubFake) -> Self {
        fake.kit().set_time(t0());
        let server = fake.spawn().await.unwrap();
        Self {
            fake,
            server,
            http: github_client(),
        }
    }

    pub async fn minimal() -> Self {
        Self::start(GithubFake::minimal().unwrap()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    /// Mints an installation token for `org` through the API.
    pub async fn token(&self, org: &str) -> String {
        let id = self.fake.installation_id(org).unwrap();
        let resp = self
            .http
            .post(self.url(&format!("/app/installations/{id}/access_tokens")))
            .bearer_auth(good_jwt(&self.fake, self.fake.kit().now()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let body: Value = resp.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_control(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/__fake{path}")))
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}
