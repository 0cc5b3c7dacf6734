//! The fake against the vendored Webex OpenAPI subset (`openapi/PROVENANCE.md`; README, "Vendored spec").

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::Running;

const SPEC: &str = include_str!("../../openapi/webex-byods-subset.openapi.json");
const PROVENANCE: &str = include_str!("../../openapi/PROVENANCE.md");

fn spec() -> Value {
    serde_json::from_str(SPEC).unwrap()
}

/// The schema of a response, with the one `$ref` the subset uses resolved.
fn response_schema(method: &str, path: &str, status: &str) -> Value {
    let spec = spec();
    let response = &spec["paths"][path][method]["responses"][status];
    let schema = response["content"]["application/json"]["schema"].clone();
    let schema = if schema.is_null() {
        json!({"$ref": "#/components/schemas/Error"})
    } else {
        schema
    };
    resolve(&schema, &spec)
}

fn resolve(schema: &Value, spec: &Value) -> Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some("#/components/schemas/Error") => spec["components"]["schemas"]["Error"].clone(),
        Some(other) => panic!("unexpected $ref {other}"),
        None => schema.clone(),
    }
}

fn assert_valid(schema: &Value, instance: &Value) {
    let validator = jsonschema::validator_for(schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{instance}");
}

#[test]
fn the_vendored_spec_matches_the_sha256_in_its_provenance() {
    let digest: String = Sha256::digest(SPEC.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        PROVENANCE.contains(&digest),
        "PROVENANCE.md does not name {digest}"
    );
    assert!(include_str!("../../openapi/LICENSE").contains("Attribution 4.0 International"));
}

#[test]
fn every_data_source_and_token_route_of_the_fake_exists_in_the_spec() {
    let spec = spec();
    for (method, path) in webex_fake::ROUTES {
        if matches!(*path, "/authorize" | "/access_token") {
            continue; // OAuth endpoints are in no public spec (PROVENANCE.md)
        }
        // Webex serves `/dataSources` and `/dataSources/` alike; the spec lists the GET with the slash.
        let m = method.to_ascii_lowercase();
        let slashed = format!("{path}/");
        let found = [*path, slashed.as_str(), path.trim_end_matches('/')]
            .iter()
            .any(|p| spec["paths"][*p][&m].is_object());
        assert!(found, "{method} {path} is not in the spec");
    }
}

#[tokio::test]
async fn data_source_responses_validate_against_the_spec() {
    let run = Running::minimal().await;
    let token = run.service_app_token().await;
    let list: Value = run
        .http
        .get(run.url("/dataSources/"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_valid(&response_schema("get", "/dataSources/", "200"), &list);
    let one: Value = run
        .http
        .get(run.url("/dataSources/ds-due"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_valid(
        &response_schema("get", "/dataSources/{dataSourceId}", "200"),
        &one,
    );
    let put = run
        .http
        .put(run.url("/dataSources/ds-due"))
        .bearer_auth(&token)
        .json(&json!({"schemaId": one["schemaId"], "url": one["url"], "audience": one["audience"], "subject": one["subject"],
                      "nonce": "a-brand-new-nonce", "tokenLifetimeMinutes": 1440, "status": "active"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 200);
    let put: Value = put.json().await.unwrap();
    assert_valid(
        &response_schema("put", "/dataSources/{dataSourceId}", "200"),
        &put,
    );
}

#[tokio::test]
async fn token_and_error_responses_validate_against_the_spec() {
    let run = Running::minimal().await;
    let app = webex_fake::derive_app_id("C-service-app");
    let ok: Value = run
        .http
        .post(run.url(&format!("/applications/{app}/token")))
        .bearer_auth("int-access-1")
        .json(&json!({"clientId": "C-service-app", "clientSecret": "service-app-secret", "targetOrgId": "org-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_valid(
        &response_schema("post", "/applications/{applicationId}/token", "200"),
        &ok,
    );
    for (org, status) in [("org-2", "403"), ("", "400")] {
        let resp = run
            .http
            .post(run.url(&format!("/applications/{app}/token")))
            .bearer_auth("int-access-1")
            .json(&json!({"clientId": "C-service-app", "clientSecret": "service-app-secret", "targetOrgId": org}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_str(), status);
        let body: Value = resp.json().await.unwrap();
        assert_valid(
            &response_schema("post", "/applications/{applicationId}/token", status),
            &body,
        );
    }
    let missing = run
        .http
        .get(run.url("/dataSources/nope"))
        .bearer_auth(run.service_app_token().await)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_valid(
        &response_schema("get", "/dataSources/{dataSourceId}", "404"),
        &body,
    );
    assert!(body["trackingId"].is_string());
}
