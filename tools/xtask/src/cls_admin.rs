//! `cargo xtask cls-admin -- <args>`: the `cls-admin` operator CLI against the stack `cargo xtask up` runs.
//!
//! The stack writes its addresses to `target/devstack/endpoints.json`; this command turns them into the
//! environment the CLS services get locally (`devstack::Wiring::env` plus `demo::services::cls_env`: moto as
//! `AWS_ENDPOINT_URL`, the fakes as base URLs, the stage and the queue; the `CLS_*_SECRET_ID` names of the
//! secrets the stack creates) and runs `cargo run -p cls-admin -- <args>` with it.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

use crate::util::{at, exec_or_run};

/// The region moto and the local clients use (`devstack::aws::REGION`).
const LOCAL_REGION: &str = "us-east-1";

/// The CLS secret ids, as the local stack creates them (docs/operations/deploy.md lists the deployed names).
const SECRET_IDS: [(&str, &str); 6] = [
    ("CLS_GITHUB_SECRET_ID", "cls/github"),
    ("CLS_WEBHOOK_SECRET_ID", "cls/webhook"),
    ("CLS_SLACK_SECRET_ID", "cls/slack"),
    ("CLS_ALERTS_SECRET_ID", "cls/alerts"),
    ("CLS_SPOKE_SECRET_ID", "cls/spoke"),
    ("CLS_IDENTITY_SECRET_ID", "cls/identity"),
];

/// Operator credentials that must not reach the local stand-ins (or override the dev ones).
const CLEARED: [&str; 4] = [
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
];

/// Runs `cls-admin` with `args` (a leading `--` is dropped) against the running local stack.
pub(crate) fn cls_admin(args: &[String]) -> Result<ExitCode> {
    let path = at("target/devstack/endpoints.json");
    let endpoints = read_endpoints(&path)?;
    let mut command = command(&endpoints, cli_args(args))?;
    exec_or_run(&mut command)
}

fn read_endpoints(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading {} (start the stack first: `cargo xtask up`)",
            path.display()
        )
    })?;
    flat_json_object(&text).with_context(|| format!("{} is not a flat JSON object", path.display()))
}

/// The arguments for `cls-admin`: everything after `cls-admin`, without a leading `--`.
fn cli_args(args: &[String]) -> &[String] {
    match args.split_first() {
        Some((first, rest)) if first == "--" => rest,
        _ => args,
    }
}

/// `cargo run --quiet --locked -p cls-admin -- <args>` with the local stack's environment.
fn command(endpoints: &BTreeMap<String, String>, args: &[String]) -> Result<Command> {
    let mut command = Command::new("cargo");
    command
        .args(["run", "--quiet", "--locked", "-p", "cls-admin", "--"])
        .args(args)
        .current_dir(crate::util::root());
    for name in CLEARED {
        command.env_remove(name);
    }
    for (name, value) in environment(endpoints)? {
        command.env(name, value);
    }
    Ok(command)
}

/// The environment the CLS services get in the local stack, from `endpoints.json`.
fn environment(endpoints: &BTreeMap<String, String>) -> Result<Vec<(&'static str, String)>> {
    let get = |key: &str| -> Result<String> {
        match endpoints.get(key) {
            Some(value) if !value.is_empty() => Ok(value.clone()),
            _ => bail!(
                "endpoints.json has no `{key}`: is `cargo xtask up` (with the CLS services) running?"
            ),
        }
    };
    let devstack = get("devstack")?;
    let mut env = vec![
        ("AWS_ENDPOINT_URL", get("moto")?),
        ("AWS_REGION", LOCAL_REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("SPOKE_BASE_URL", get("spoke")?),
        ("SLACK_API_BASE_URL", get("slack")?),
        (
            "SLACK_RESPONSE_URL_PREFIX",
            format!("{}/slack/", devstack.trim_end_matches('/')),
        ),
        ("GITHUB_API_BASE_URL", get("github")?),
        ("CLS_STAGE", "testing".to_owned()),
        ("CLS_QUEUE_URL", get("queue_url")?),
        ("LOG_FORMAT", "text".to_owned()),
    ];
    env.extend(SECRET_IDS.iter().map(|(k, v)| (*k, (*v).to_owned())));
    Ok(env)
}

/// Parses a JSON object whose values are all strings (what the stack writes to `endpoints.json`).
fn flat_json_object(text: &str) -> Result<BTreeMap<String, String>> {
    let mut chars = text.chars().peekable();
    let mut map = BTreeMap::new();
    let skip_ws = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
    };
    skip_ws(&mut chars);
    if chars.next() != Some('{') {
        bail!("expected `{{`");
    }
    skip_ws(&mut chars);
    if chars.peek() == Some(&'}') {
        chars.next();
    } else {
        loop {
            skip_ws(&mut chars);
            let key = json_string(&mut chars)?;
            skip_ws(&mut chars);
            if chars.next() != Some(':') {
                bail!("expected `:` after \"{key}\"");
            }
            skip_ws(&mut chars);
            let value =
                json_string(&mut chars).with_context(|| format!("the value of \"{key}\""))?;
            map.insert(key, value);
            skip_ws(&mut chars);
            match chars.next() {
                Some(',') => continue,
                Some('}') => break,
                _ => bail!("expected `,` or `}}`"),
            }
        }
    }
    skip_ws(&mut chars);
    if chars.next().is_some() {
        bail!("text after the object");
    }
    Ok(map)
}

fn json_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String> {
    if chars.next() != Some('"') {
        bail!("expected a string");
    }
    let mut out = String::new();
    loop {
        match chars.next() {
            None => bail!("unterminated string"),
            Some('"') => return Ok(out),
            Some('\\') => match chars.next() {
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                Some('/') => out.push('/'),
                Some('b') => out.push('\u{8}'),
                Some('f') => out.push('\u{c}'),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let code = u32::from_str_radix(&hex, 16)
                        .with_context(|| format!("bad escape \\u{hex}"))?;
                    out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                }
                _ => bail!("bad escape"),
            },
            Some(c) => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::*;

    /// What `Stack::write_endpoints` writes (pretty-printed, keys sorted), with dev-only values.
    const ENDPOINTS: &str = r#"{
  "admin": "http://127.0.0.1:8800/__devstack",
  "api": "http://127.0.0.1:8820",
  "cls_orgs": "acme",
  "devstack": "http://127.0.0.1:8800",
  "github": "http://127.0.0.1:8800/github",
  "github_webhook_secret": "dev-\"quoted\"\\slash\u00e9",
  "invoke": "http://127.0.0.1:8800/__devstack/invoke",
  "moto": "http://127.0.0.1:8810",
  "queue_url": "http://127.0.0.1:8810/123456789012/cls-events.fifo",
  "slack": "http://127.0.0.1:8800/slack/api",
  "spoke": "http://127.0.0.1:8800/spoke/api/v1",
  "webex": "http://127.0.0.1:8800/webex/v1"
}"#;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn reads_the_endpoints_file_the_stack_writes() {
        let map = flat_json_object(ENDPOINTS).unwrap();
        assert_eq!(map.len(), 12);
        assert_eq!(map["moto"], "http://127.0.0.1:8810");
        assert_eq!(map["github_webhook_secret"], "dev-\"quoted\"\\slashé");
        assert!(flat_json_object("{}").unwrap().is_empty());
    }

    #[test]
    fn refuses_what_is_not_a_flat_object_of_strings() {
        for bad in [
            "",
            "[]",
            r#"{"a": 1}"#,
            r#"{"a": "b""#,
            r#"{"a": "b"} x"#,
            r#"{"a" "b"}"#,
        ] {
            assert!(flat_json_object(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn passes_the_arguments_after_the_separator_unchanged() {
        let with = strings(&["--", "expiring", "--within", "30d", "--json"]);
        assert_eq!(cli_args(&with), &with[1..]);
        let without = strings(&["report", "--format", "csv"]);
        assert_eq!(cli_args(&without), &without[..]);
        // Only a leading separator is the xtask's; a later `--` belongs to cls-admin.
        let inner = strings(&["--", "extend", "--", "acme/mona"]);
        assert_eq!(cli_args(&inner), &inner[1..]);
    }

    #[test]
    fn runs_cls_admin_with_the_local_stacks_environment() {
        let endpoints = flat_json_object(ENDPOINTS).unwrap();
        let args = strings(&["expiring", "--within", "30d"]);
        let command = command(&endpoints, &args).unwrap();
        assert_eq!(command.get_program(), "cargo");
        let argv: Vec<&OsStr> = command.get_args().collect();
        assert_eq!(
            argv,
            [
                "run",
                "--quiet",
                "--locked",
                "-p",
                "cls-admin",
                "--",
                "expiring",
                "--within",
                "30d"
            ]
            .map(OsStr::new)
        );
        let env: BTreeMap<&OsStr, Option<&OsStr>> = command.get_envs().collect();
        let value = |name: &str| env.get(OsStr::new(name)).copied().flatten();
        let expected = [
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:8810"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("SPOKE_BASE_URL", "http://127.0.0.1:8800/spoke/api/v1"),
            ("SLACK_API_BASE_URL", "http://127.0.0.1:8800/slack/api"),
            ("SLACK_RESPONSE_URL_PREFIX", "http://127.0.0.1:8800/slack/"),
            ("GITHUB_API_BASE_URL", "http://127.0.0.1:8800/github"),
            ("CLS_STAGE", "testing"),
            (
                "CLS_QUEUE_URL",
                "http://127.0.0.1:8810/123456789012/cls-events.fifo",
            ),
        ];
        for (name, wanted) in expected.into_iter().chain(SECRET_IDS) {
            assert_eq!(value(name), Some(OsStr::new(wanted)), "{name}");
        }
        // Operator credentials are removed, not passed on to the stand-ins.
        for name in CLEARED {
            assert!(
                env.get(OsStr::new(name)).is_some_and(Option::is_none),
                "{name} is not cleared"
            );
        }
        // No dev secret from endpoints.json leaks into the environment.
        assert!(
            env.values()
                .flatten()
                .all(|v| !v.to_string_lossy().contains("quoted"))
        );
    }

    #[test]
    fn names_the_missing_endpoint_when_the_stack_lacks_one() {
        let mut endpoints = flat_json_object(ENDPOINTS).unwrap();
        endpoints.remove("queue_url");
        let error = command(&endpoints, &[]).unwrap_err();
        assert!(format!("{error:#}").contains("no `queue_url`"), "{error:#}");
    }

    #[test]
    fn tells_to_start_the_stack_when_endpoints_json_is_missing() {
        let missing = std::env::temp_dir().join(format!(
            "xtask-no-endpoints-{}/endpoints.json",
            std::process::id()
        ));
        let error = read_endpoints(&missing).unwrap_err();
        assert!(format!("{error:#}").contains("cargo xtask up"), "{error:#}");
    }
}
