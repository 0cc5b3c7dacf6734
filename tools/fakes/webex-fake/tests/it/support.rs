//! A fake on an ephemeral port plus a client that does not follow redirects.

use serde_json::Value;
use webex_fake::{RunningServer, WebexFake};

pub(crate) struct Running {
    pub(crate) fake: WebexFake,
    pub(crate) server: RunningServer,
    pub(crate) http: reqwest::Client,
}

impl Running {
    pub(crate) async fn minimal() -> Self {
        Self::start(serde_json::from_str(webex_fake::MINIMAL_SEED).unwrap()).await
    }

    pub(crate) async fn start(seed: Value) -> Self {
        let fake = WebexFake::new(seed).unwrap();
        let server = fake.spawn().await.unwrap();
        let http = fake_kit::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self { fake, server, http }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/v1{path}", self.server.base_url())
    }

    /// `POST /access_token` with a form; returns status and JSON body.
    pub(crate) async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let resp = self
            .http
            .post(self.url("/access_token"))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    /// `method` on `url` (absolute) with bearer `token` and an optional JSON body: status, headers, JSON body
    /// (`Null` when the body is not JSON).
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.request(method, url).bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        (status, headers, resp.json().await.unwrap_or(Value::Null))
    }

    /// A service-app access token obtained through the mint with the seeded integration token.
    pub(crate) async fn service_app_token(&self) -> String {
        let app = webex_fake::derive_app_id("C-service-app");
        let resp = self
            .http
            .post(self.url(&format!("/applications/{app}/token")))
            .bearer_auth("int-access-1")
            .json(&serde_json::json!({"clientId": "C-service-app", "clientSecret": "service-app-secret", "targetOrgId": "org-1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let body: Value = resp.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }
}
