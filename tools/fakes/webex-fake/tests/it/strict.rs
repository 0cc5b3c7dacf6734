//! Where the fake refuses or answers as the Webex API documents (README, "Strictness"): each test fails
//! against the lenient behaviour it replaced.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::Running;

/// The minimal seed with `edit` applied.
fn seed(edit: impl FnOnce(&mut Value)) -> Value {
    let mut seed: Value = serde_json::from_str(webex_fake::MINIMAL_SEED).unwrap();
    edit(&mut seed);
    seed
}

/// A third data source, `ds-{n}`, of `org`.
fn data_source(n: u32, org: &str) -> Value {
    json!({"id": format!("ds-{n}"), "url": format!("https://dap.example.com/{n}"), "nonce": format!("n-{n}"),
           "tokenExpiresInMinutes": 600, "orgId": org})
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn each_data_source_route_needs_its_scope() {
    let run = Running::start(seed(|s| {
        s["serviceApps"][0]["scopes"] = json!(["spark-admin:datasource_read"]);
    }))
    .await;
    let token = run.service_app_token().await;
    let one = run.url("/dataSources/ds-due");
    let (status, _, _) = run.call(Method::GET, &one, &token, None).await;
    assert_eq!(status, 200, "read with datasource_read");
    let (status, _, body) = run
        .call(Method::PUT, &one, &token, Some(json!({"nonce": "n-new"})))
        .await;
    assert_eq!(status, 403, "a write without datasource_write");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("datasource_write")
    );
    assert_eq!(run.fake.data_source_updates("ds-due").unwrap().0, 0);

    let write_only = Running::start(seed(|s| {
        s["serviceApps"][0]["scopes"] = json!(["spark-admin:datasource_write"]);
    }))
    .await;
    let token = write_only.service_app_token().await;
    for url in [
        write_only.url("/dataSources"),
        write_only.url("/dataSources/ds-due"),
    ] {
        let (status, _, _) = write_only.call(Method::GET, &url, &token, None).await;
        assert_eq!(status, 403, "{url} without datasource_read");
    }
}

#[tokio::test]
async fn a_token_sees_only_the_data_sources_of_its_org() {
    let run = Running::start(seed(|s| {
        s["dataSources"]
            .as_array_mut()
            .unwrap()
            .push(data_source(3, "org-2"));
    }))
    .await;
    let token = run.service_app_token().await;
    let (status, _, page) = run
        .call(Method::GET, &run.url("/dataSources"), &token, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        ids(&page),
        ["ds-due", "ds-later"],
        "org-2's source is not listed"
    );
    let other = run.url("/dataSources/ds-3");
    assert_eq!(run.call(Method::GET, &other, &token, None).await.0, 404);
    let put = run
        .call(Method::PUT, &other, &token, Some(json!({"nonce": "n-new"})))
        .await;
    assert_eq!(put.0, 404);
    assert_eq!(run.fake.data_source_updates("ds-3").unwrap().0, 0);
}

#[tokio::test]
async fn the_list_comes_in_pages_linked_by_a_next_link() {
    let run = Running::start(seed(|s| {
        s["settings"]["listPageSize"] = json!(2);
        for n in 3..=5 {
            s["dataSources"]
                .as_array_mut()
                .unwrap()
                .push(data_source(n, "org-1"));
        }
    }))
    .await;
    let token = run.service_app_token().await;
    let mut next = Some(run.url("/dataSources"));
    let (mut seen, mut pages) = (Vec::new(), 0);
    while let Some(url) = next.take() {
        let (status, headers, page) = run.call(Method::GET, &url, &token, None).await;
        assert_eq!(status, 200, "{url}");
        pages += 1;
        seen.extend(ids(&page));
        next = headers.get("link").map(|l| {
            let link = l.to_str().unwrap();
            assert!(link.ends_with("; rel=\"next\""), "{link}");
            link[1..link.find('>').unwrap()].to_owned()
        });
        if let Some(n) = &next {
            assert!(n.starts_with(&run.url("/dataSources?")), "absolute: {n}");
        }
    }
    assert_eq!(pages, 3, "2 + 2 + 1");
    assert_eq!(seen, ["ds-due", "ds-later", "ds-3", "ds-4", "ds-5"]);

    let (_, headers, page) = run
        .call(Method::GET, &run.url("/dataSources?max=4"), &token, None)
        .await;
    assert_eq!(ids(&page).len(), 4, "max sets the page size");
    assert!(headers.contains_key("link"));
    let bad = run
        .call(Method::GET, &run.url("/dataSources?max=0"), &token, None)
        .await;
    assert_eq!(bad.0, 400);
}

#[tokio::test]
async fn a_switch_answers_put_without_the_new_token_and_its_expiry() {
    let run = Running::minimal().await;
    let token = run.service_app_token().await;
    let one = run.url("/dataSources/ds-due");
    let (_, _, answer) = run
        .call(Method::PUT, &one, &token, Some(json!({"nonce": "n-1"})))
        .await;
    assert!(
        answer.get("jwsToken").is_some() && answer.get("tokenExpiryTime").is_some(),
        "by default the answer carries both"
    );

    run.fake
        .update_settings(&json!({"putAnswerWithoutToken": true}))
        .unwrap();
    let (status, _, answer) = run
        .call(Method::PUT, &one, &token, Some(json!({"nonce": "n-2"})))
        .await;
    assert_eq!(status, 200);
    assert!(answer.get("jwsToken").is_none(), "{answer}");
    assert!(answer.get("tokenExpiryTime").is_none(), "{answer}");
    assert_eq!(answer["nonce"], "n-2");
    let (_, _, read) = run.call(Method::GET, &one, &token, None).await;
    assert!(
        read.get("jwsToken").is_some() && read.get("tokenExpiryTime").is_some(),
        "a GET still shows both"
    );
}
