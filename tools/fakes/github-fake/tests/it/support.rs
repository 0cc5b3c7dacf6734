use chrono::{DateTime, Utc};
use github_fake::GithubFake;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

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

pub struct Running {
    pub fake: GithubFake,
    pub server: fake_kit::RunningServer,
    pub http: reqwest::Client,
}

impl Running {
    pub async fn start(fake: GithubFake) -> Self {
        fake.kit().set_time(t0());
        let server = fake.spawn().await.unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self { fake, server, http }
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
