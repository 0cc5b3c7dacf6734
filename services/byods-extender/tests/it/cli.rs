//! BYO-23 … BYO-28: the `byods` binary as an operator runs it, against the fake Webex and moto.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::{Value, json};
use tokio::io::{
    AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, AsyncWriteExt as _, BufReader,
};
use tokio::process::Command;

use crate::support::*;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn command(env: &Env, args: &[&str], extra: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_byods"));
    cmd.args(args);
    with_env(&mut cmd, env);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd
}

/// The environment of the test's stack (fake Webex, moto, the secret), JSON logs, piped output.
fn with_env<'c>(cmd: &'c mut Command, env: &Env) -> &'c mut Command {
    cmd.env_remove("BYODS_DATA_SOURCE_IDS")
        .env_remove("DATA_SOURCE_ID")
        .env("BYODS_SECRET_ID", &env.secret_id)
        .env("WEBEX_API_BASE_URL", env.api_base())
        .env("AWS_ENDPOINT_URL", &env.moto)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
}

async fn byods(env: &Env, args: &[&str], extra: &[(&str, &str)]) -> Run {
    let out = tokio::time::timeout(
        StdDuration::from_secs(60),
        command(env, args, extra).output(),
    )
    .await
    .expect("byods finished within a minute")
    .unwrap();
    for stream in [&out.stdout, &out.stderr] {
        env.leaks.scan("cli", &String::from_utf8_lossy(stream));
    }
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn assert_no_secret_in(run: &Run, extra: &[&str]) {
    for needle in SEED_SECRETS.iter().chain(extra) {
        assert!(!run.stdout.contains(needle), "{needle} on stdout");
        assert!(!run.stderr.contains(needle), "{needle} on stderr");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `byods setup-oauth`, plays the browser, and returns the run plus the `state` it sent.
async fn setup_oauth(env: &Env, extra_args: &[&str], extra_env: &[(&str, &str)]) -> (Run, String) {
    let redirect = format!("http://127.0.0.1:{}/callback", free_port());
    let mut args = vec![
        "setup-oauth",
        "--no-browser",
        "--timeout",
        "30",
        "--redirect-uri",
        redirect.as_str(),
    ];
    args.extend_from_slice(extra_args);
    let mut child = command(env, &args, extra_env).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = Vec::new();
    let url = loop {
        let line = tokio::time::timeout(StdDuration::from_secs(30), lines.next_line())
            .await
            .expect("the authorisation URL is printed")
            .unwrap()
            .expect("stderr open");
        seen.push(line.clone());
        if line.contains("/v1/authorize?") {
            break url::Url::parse(line.trim()).unwrap();
        }
    };
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    // The test is the browser: follow the fake's redirect to the CLI's loopback listener.
    let browser = lambda_kit::http::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = fake_kit::testing::send(browser.get(url.as_str())).await;
    assert_eq!(resp.status, 302);
    let location = resp.header("location").to_owned();
    assert!(location.starts_with(&redirect));
    let page = fake_kit::testing::send(browser.get(&location)).await.text();
    assert!(page.contains("close this window"));
    assert!(!page.contains("fake_"));
    let out = tokio::time::timeout(StdDuration::from_secs(60), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    while let Ok(Some(line)) = lines.next_line().await {
        seen.push(line);
    }
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: seen.join("\n"),
    };
    env.leaks.scan("cli", &run.stdout);
    env.leaks.scan("cli", &run.stderr);
    (run, state)
}

#[tokio::test]
async fn byo23_setup_oauth_completes_end_to_end_with_pkce_verified_by_the_fake() {
    let env = Env::start(seed(), |_| legacy_secret()).await;

    let (run, state) = setup_oauth(&env, &[], &[]).await;

    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let exchange = env
        .calls("POST", "/access_token")
        .into_iter()
        .find(|c| c.body.contains("grant_type=authorization_code"))
        .expect("the code was exchanged");
    assert!(exchange.body.contains("code_verifier="));
    assert_eq!(exchange.status, 200, "the fake accepted the PKCE verifier");
    let secret = env.secret().await;
    let rt = secret["tokenManager"]["refreshToken"].as_str().unwrap();
    assert!(rt.starts_with("fake_rt_") && env.fake.accepts_refresh_token(rt));
    assert!(
        secret["serviceApp"]["accessToken"].is_string(),
        "verified with a mint and cached"
    );
    assert_eq!(secret["deployedBy"], "ops-team");
    assert!(run.stdout.contains("set (fp "));
    let at = secret["tokenManager"]["accessToken"].as_str().unwrap();
    assert_no_secret_in(&run, &[rt, at]);

    let (second, state2) = setup_oauth(&env, &["--dry-run"], &[]).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_ne!(state, state2, "a fresh state per run");
    assert_eq!(
        env.secret().await["tokenManager"]["refreshToken"],
        rt,
        "--dry-run writes nothing"
    );
}

#[tokio::test]
async fn byo23_a_state_mismatch_or_a_denial_exits_3_and_writes_nothing() {
    for mode in ["wrong_state", "access_denied"] {
        let env = Env::start(seed(), |_| legacy_secret()).await;
        env.fake
            .update_settings(&json!({"authorizeMode": mode}))
            .unwrap();
        let version = env.secret_version().await;
        let (run, _) = setup_oauth(&env, &[], &[]).await;
        assert_eq!(run.code, 3, "{mode}: {}", run.stderr);
        assert_eq!(
            env.secret_version().await,
            version,
            "{mode}: nothing written"
        );
        assert!(
            env.calls("POST", "/access_token").is_empty(),
            "{mode}: no code exchanged"
        );
    }
}

#[tokio::test]
async fn byo24_list_prints_a_table_and_json_without_any_jws_token() {
    let env = Env::start(seed(), canonical_secret).await;
    let table = byods(&env, &["list"], &[]).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    let header = table.stdout.lines().next().unwrap();
    for col in byods_extender::cli::list::LIST_COLUMNS {
        assert!(header.contains(col));
    }
    assert!(table.stdout.contains("ds-due") && table.stdout.contains("ds-later"));

    let json_run = byods(&env, &["list", "--json", "--claims"], &[]).await;
    let doc: Value = serde_json::from_str(json_run.stdout.trim()).unwrap();
    let items = doc["dataSources"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let due = items.iter().find(|i| i["id"] == "ds-due").unwrap();
    assert_eq!(due["due"], true);
    assert!(due["minutesLeft"].as_i64().unwrap() <= 60);
    for run in [&table, &json_run] {
        assert!(!run.stdout.contains("eyJ"), "no jwsToken");
        assert!(!run.stdout.contains("jwsToken"));
    }
}

#[tokio::test]
async fn byo25_extend_extends_a_source_that_is_not_due_unless_if_due_is_given() {
    let env = Env::start(seed(), canonical_secret).await;
    let skipped = byods(&env, &["extend", "ds-later", "--if-due"], &[]).await;
    assert_eq!(skipped.code, 0, "{}", skipped.stderr);
    assert!(skipped.stdout.contains("skipped_not_due"));
    assert!(env.puts().is_empty());

    let dry = byods(&env, &["extend", "ds-later", "--dry-run"], &[]).await;
    assert_eq!(dry.code, 0);
    assert!(dry.stdout.contains("would extend") && dry.stdout.contains("<fp "));
    assert!(env.puts().is_empty(), "a dry run sends no PUT");

    let run = byods(
        &env,
        &["extend", "ds-later", "--lifetime-minutes", "1400"],
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("extended") && run.stdout.contains("->"));
    let puts = env.puts();
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].json_body().unwrap()["tokenLifetimeMinutes"], 1400);
    let nonce = puts[0].json_body().unwrap()["nonce"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_no_secret_in(&run, &[nonce.as_str()]);

    let unknown = byods(&env, &["extend", "no-such-source"], &[]).await;
    assert_eq!(unknown.code, 6, "{}", unknown.stderr);
}

#[tokio::test]
async fn byo26_status_is_0_when_healthy_1_near_refresh_token_expiry_and_3_when_reauth_is_needed() {
    let env = Env::start(seed(), canonical_secret).await;
    let only_later = [("BYODS_DATA_SOURCE_IDS", "ds-later")];
    let healthy = byods(&env, &["status"], &only_later).await;
    assert_eq!(healthy.code, 0, "{}\n{}", healthy.stdout, healthy.stderr);
    let inside_window = byods(&env, &["status", "--json"], &[]).await;
    assert_eq!(inside_window.code, 1, "ds-due is inside the window");
    let doc: Value = serde_json::from_str(inside_window.stdout.trim()).unwrap();
    assert_eq!(doc["health"], "warning");

    let near = Env::start(seed(), |now| {
        let mut s = canonical_secret(now);
        s["tokenManager"]["refreshTokenExpiresAt"] = json!(rfc(now + Duration::days(5)));
        s
    })
    .await;
    assert_eq!(byods(&near, &["status"], &only_later).await.code, 1);

    let revoked = Env::start(seed(), |_| legacy_secret()).await;
    revoked.fake.revoke_refresh_tokens("C-integration");
    let run = byods(&revoked, &["status"], &only_later).await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert_no_secret_in(&run, &[]);
}

#[tokio::test]
async fn byo26_status_check_write_adds_a_secret_version() {
    let env = Env::start(seed(), canonical_secret).await;
    let before = env.secret_version().await;
    let run = byods(
        &env,
        &["status", "--check-write"],
        &[("BYODS_DATA_SOURCE_IDS", "ds-later")],
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_ne!(env.secret_version().await, before);
}

#[tokio::test]
async fn byo27_bad_configuration_is_an_init_error_with_exit_2_and_no_webex_call() {
    let env = Env::start(seed(), |_| {
        let mut s = legacy_secret();
        s["serviceApp"]["clientSecret"] = json!("YOUR_CLIENT_SECRET_HERE");
        s
    })
    .await;
    for (args, extra) in [
        (vec!["status"], vec![("BYODS_TOKEN_LIFETIME_MINUTES", "0")]),
        (
            vec!["status"],
            vec![("BYODS_TOKEN_LIFETIME_MINUTES", "1441")],
        ),
        (vec!["status"], vec![]),
        (vec!["sweep"], vec![]),
    ] {
        let run = byods(&env, &args, &extra).await;
        assert_eq!(run.code, 2, "{args:?} {extra:?}: {}", run.stderr);
    }
    let mut no_secret = command(&env, &["status"], &[]);
    no_secret
        .env_remove("BYODS_SECRET_ID")
        .env_remove("SECRET_NAME");
    let out = no_secret.output().await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(env.fake.kit().journal().is_empty(), "no Webex call");
}

#[tokio::test]
async fn doctor_reports_each_check_on_its_own_line() {
    let env = Env::start(seed(), |_| legacy_secret()).await;
    let run = byods(&env, &["doctor"], &[]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for check in [
        "secret present and readable",
        "keys valid",
        "secret writable",
        "integration refresh works",
        "service app authorised",
        "data source ds-due active",
    ] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.contains("[ok]") && l.contains(check)),
            "{check}: {}",
            run.stdout
        );
    }

    let denied = Env::start(seed(), |_| {
        let mut s = legacy_secret();
        s["serviceApp"]["targetOrgId"] = json!("org-not-authorised");
        s
    })
    .await;
    let run = byods(&denied, &["doctor", "--json"], &[]).await;
    assert_eq!(run.code, 6);
    let doc: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    let failed: HashMap<String, String> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_owned(),
                c["errorClass"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        failed
            .get("service app authorised (mint succeeds)")
            .map(String::as_str),
        Some("ServiceAppNotAuthorized")
    );
}

#[tokio::test]
async fn byo23_setup_oauth_with_create_creates_the_secret_from_scratch() {
    let env = Env::start(seed(), |_| legacy_secret()).await;
    let new_secret = unique("byods-created");
    let (run, _) = setup_oauth(
        &env,
        &[
            "--create",
            "--client-id",
            "C-integration",
            "--service-app-client-id",
            "C-service-app",
            "--service-app-client-secret",
            "service-app-secret",
            "--target-org-id",
            "org-1",
        ],
        &[
            ("BYODS_SECRET_ID", new_secret.as_str()),
            ("BYODS_INTEGRATION_CLIENT_SECRET", "integration-secret"),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let out = env
        .sm
        .get_secret_value()
        .secret_id(&new_secret)
        .send()
        .await
        .unwrap();
    let secret: Value = serde_json::from_str(out.secret_string().unwrap()).unwrap();
    assert_eq!(secret["schemaVersion"], 2);
    assert_eq!(secret["serviceApp"]["targetOrgId"], "org-1");
    assert!(
        env.fake
            .accepts_refresh_token(secret["tokenManager"]["refreshToken"].as_str().unwrap())
    );
    assert!(secret["serviceApp"]["accessToken"].is_string());
    assert_no_secret_in(&run, &[]);
}

#[tokio::test]
async fn extend_all_if_due_extends_only_the_due_sources_and_sweep_prints_one_json_summary() {
    let env = Env::start(seed(), canonical_secret).await;
    let dry = byods(&env, &["sweep", "--dry-run", "--json"], &[]).await;
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let doc: Value = serde_json::from_str(dry.stdout.trim()).expect("exactly one JSON document");
    assert_eq!(doc["counts"]["wouldExtend"], 1);
    assert!(env.puts().is_empty());

    let run = byods(&env, &["extend", "--all", "--if-due"], &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let puts = env.puts();
    assert_eq!(puts.len(), 1);
    assert!(puts[0].path.ends_with("/ds-due"));
    assert!(run.stdout.contains("ds-later: skipped_not_due"));

    let help = byods(&env, &["--help"], &[]).await;
    assert_eq!(help.code, 0);
    for command in [
        "setup-oauth",
        "status",
        "extend",
        "doctor",
        "list",
        "sweep",
        "Exit codes",
    ] {
        assert!(help.stdout.contains(command), "--help mentions {command}");
    }
}

#[tokio::test]
async fn setup_oauth_replaces_the_stored_integration_client_id_and_secret() {
    let env = Env::start(seed(), |now| {
        let mut s = canonical_secret(now);
        s["tokenManager"]["clientId"] = json!("C-retired-integration");
        s["tokenManager"]["clientSecret"] = json!("YOUR_CLIENT_SECRET_HERE");
        s
    })
    .await;

    let (run, _) = setup_oauth(
        &env,
        &["--client-id", "C-integration"],
        &[("BYODS_INTEGRATION_CLIENT_SECRET", "integration-secret")],
    )
    .await;

    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let secret = env.secret().await;
    assert_eq!(secret["tokenManager"]["clientId"], "C-integration");
    assert_eq!(secret["tokenManager"]["clientSecret"], "integration-secret");
    let rt = secret["tokenManager"]["refreshToken"].as_str().unwrap();
    assert!(env.fake.accepts_refresh_token(rt));
    let status = byods(&env, &["status"], &[("BYODS_DATA_SOURCE_IDS", "ds-later")]).await;
    assert_eq!(
        status.code, 0,
        "the new client and its token work together: {}",
        status.stdout
    );
}

#[tokio::test]
async fn setup_oauth_reads_the_client_secret_without_echoing_it() {
    // The stored secret belongs to another client, so the new one must be asked for.
    let env = Env::start(seed(), |now| {
        let mut s = canonical_secret(now);
        s["tokenManager"]["clientId"] = json!("C-retired-integration");
        s
    })
    .await;
    let redirect = format!("http://127.0.0.1:{}/callback", free_port());
    let byods_cmd = format!(
        "{} setup-oauth --no-browser --timeout 5 --client-id C-integration --redirect-uri {redirect}",
        env!("CARGO_BIN_EXE_byods")
    );
    // `script` runs the CLI on a pseudo-terminal, as an operator would, and copies what the terminal
    // shows to stdout: an echoed secret would appear there.
    let mut script = Command::new("script");
    with_env(&mut script, &env)
        .args(["-qec", byods_cmd.as_str(), "/dev/null"])
        .env_remove("BYODS_INTEGRATION_CLIENT_SECRET")
        .stdin(Stdio::piped());
    let mut child = script.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut terminal = child.stdout.take().unwrap();
    let mut shown = String::new();
    read_until(&mut terminal, &mut shown, "client secret:").await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    stdin.write_all(b"integration-secret\n").await.unwrap();
    stdin.flush().await.unwrap();
    read_until(&mut terminal, &mut shown, "/v1/authorize?").await;
    assert!(
        !shown.contains("integration-secret"),
        "the client secret was echoed: {shown}"
    );
}

/// Reads `from` into `shown` until `needle` appears.
async fn read_until(from: &mut (impl AsyncRead + Unpin), shown: &mut String, needle: &str) {
    let mut buf = [0u8; 1024];
    while !shown.contains(needle) {
        let n = tokio::time::timeout(StdDuration::from_secs(30), from.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("{needle:?} not shown: {shown}"))
            .unwrap();
        assert!(n > 0, "the terminal closed before {needle:?}: {shown}");
        shown.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

#[tokio::test]
async fn if_due_and_mode_window_win_over_byods_extend_mode_always() {
    let env = Env::start(seed(), canonical_secret).await;
    let always = [("BYODS_EXTEND_MODE", "always")];

    let extend = byods(&env, &["extend", "ds-later", "--if-due"], &always).await;
    assert_eq!(extend.code, 0, "{}", extend.stderr);
    assert!(
        extend.stdout.contains("ds-later: skipped_not_due"),
        "{}",
        extend.stdout
    );
    assert!(env.puts().is_empty(), "--if-due: ds-later is not due");

    let sweep = byods(&env, &["sweep", "--mode", "window", "--json"], &always).await;
    assert_eq!(sweep.code, 0, "{}", sweep.stderr);
    let doc: Value = serde_json::from_str(sweep.stdout.trim()).unwrap();
    assert_eq!(doc["mode"], "window");
    assert_eq!(doc["counts"]["extended"], 1, "only ds-due: {doc}");
    let puts = env.puts();
    assert_eq!(puts.len(), 1);
    assert!(puts[0].path.ends_with("/ds-due"));
}

#[tokio::test]
async fn verbose_adds_debug_lines_and_a_successful_extend_names_its_tracking_id() {
    let env = Env::start(seed(), canonical_secret).await;
    let quiet = byods(&env, &["list"], &[]).await;
    assert!(!quiet.stderr.contains("http_request"), "{}", quiet.stderr);
    let verbose = byods(&env, &["-v", "list"], &[]).await;
    assert_eq!(verbose.code, 0, "{}", verbose.stderr);
    assert!(
        verbose.stderr.contains("http_request"),
        "-v logs each Webex call: {}",
        verbose.stderr
    );
    assert_no_secret_in(&verbose, &[]);

    let run = byods(&env, &["extend", "ds-later", "--json"], &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    let tracking = doc["dataSources"][0]["trackingId"].as_str().unwrap();
    assert!(!tracking.is_empty());
    let text = byods(&env, &["extend", "ds-due"], &[]).await;
    assert!(
        text.stdout.contains("extended")
            && text.stdout.contains("trackingId ")
            && !text.stdout.contains("trackingId -"),
        "{}",
        text.stdout
    );
}
