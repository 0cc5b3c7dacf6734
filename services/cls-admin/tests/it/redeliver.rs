//! `redeliver` against github-fake's recorded App deliveries.

use crate::support::spawn;

#[tokio::test]
async fn redeliver_requests_each_failed_delivery_once_and_a_dry_run_requests_nothing() {
    let stack = spawn().await;
    // A receiver that refuses the delivery: GitHub records it as failed.
    let refusing = format!("{}/not-the-webhook", stack.vars["SPOKE_BASE_URL"]);
    let payload =
        serde_json::json!({"action": "added", "organization": {"login": "acme", "id": 38_302_899}});
    let sent = stack
        .github
        .send_webhook(&refusing, "member", Some("guid-failed-1"), &payload)
        .await
        .unwrap();
    assert!(sent.status >= 400, "{}", sent.status);

    let plan = stack
        .run(&["redeliver", "--since", "1", "--dry-run"])
        .await
        .unwrap();
    let listed = plan.document["deliveries"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{}", plan.text);
    assert_eq!(listed[0]["guid"], "guid-failed-1");
    assert_eq!(listed[0]["result"], "planned");
    let attempts = |stack: &crate::support::Stack| {
        stack
            .github
            .kit()
            .journal()
            .iter()
            .filter(|e| e.method == "POST" && e.path.contains("/attempts"))
            .count()
    };
    assert_eq!(attempts(&stack), 0);

    let run = stack.run(&["redeliver", "--since", "1"]).await.unwrap();
    assert!(run.ok, "{}", run.text);
    assert_eq!(run.document["deliveries"][0]["result"], "requested");
    assert_eq!(attempts(&stack), 1);
    assert!(run.text.contains("guid-failed-1"), "{}", run.text);

    let err = stack
        .run(&["redeliver", "--since", "100"])
        .await
        .unwrap_err();
    assert_eq!(
        err.exit_code(),
        cls_admin::exit::USAGE,
        "GitHub keeps 3 days"
    );
}
