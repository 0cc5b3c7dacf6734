//! The leak check of the integration tests, the local stack and the chaos suite: seeded secret values (API
//! keys, tokens, private keys, signing secrets, OAuth client secrets) and `Authorization` headers must never
//! appear in a log line, an error or CLI output.
//!
//! [`LeakCheck`] holds the seeded values. It scans any text ([`LeakCheck::scan`]: an error message, a CLI's
//! output), a [`LogCapture`] ([`LeakCheck::scan_capture`]), or every log line as it is written once it is
//! the process's tracing writer ([`LeakCheck::install`]). A finding names the secret's label and the source, and never
//! repeats the value: the line is reported with the value replaced by `[label]`.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

use tracing_subscriber::fmt::MakeWriter;

use crate::tracing_init::LogCapture;

/// Values shorter than this are not checked: a short seed (`"x"`, a port) would match harmless text.
pub const MIN_SECRET_LEN: usize = 8;

/// One leaked value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// Where it was found (`log`, `error`, `cli`, …).
    pub source: String,
    /// The secret's label (`spoke api key`, …), or `authorization header`.
    pub label: String,
    /// The offending line, at most 300 characters, with every seeded value replaced by its `[label]`.
    pub excerpt: String,
}

impl std::fmt::Display for Leak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} in {}: {}", self.label, self.source, self.excerpt)
    }
}

#[derive(Debug, Default)]
struct Inner {
    secrets: RwLock<Vec<(String, String)>>,
    leaks: Mutex<Vec<Leak>>,
}

/// The seeded secrets and every leak found so far. Cheap to clone; clones share both.
#[derive(Debug, Clone, Default)]
pub struct LeakCheck {
    inner: Arc<Inner>,
}

impl LeakCheck {
    /// An empty check.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a secret value under `label`. Values shorter than [`MIN_SECRET_LEN`] are ignored; a multi-line
    /// value (a PEM key) is checked line by line (each line of at least that length), since a log line holds
    /// at most one of its lines.
    pub fn seed(&self, label: &str, value: &str) -> &Self {
        let mut secrets = self
            .inner
            .secrets
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let parts: Vec<&str> = if value.contains('\n') {
            value
                .lines()
                .map(str::trim)
                .filter(|l| !l.starts_with("-----"))
                .collect()
        } else {
            vec![value]
        };
        for part in parts {
            if part.len() >= MIN_SECRET_LEN && !secrets.iter().any(|(_, v)| v == part) {
                secrets.push((label.to_owned(), part.to_owned()));
            }
        }
        self
    }

    /// How many values are seeded.
    pub fn seeded(&self) -> usize {
        self.inner
            .secrets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Scans `text` line by line; records and returns the leaks found in it.
    pub fn scan(&self, source: &str, text: &str) -> Vec<Leak> {
        let found: Vec<Leak> = text
            .lines()
            .flat_map(|line| self.scan_line(source, line))
            .collect();
        if !found.is_empty() {
            self.inner
                .leaks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend(found.iter().cloned());
        }
        found
    }

    /// Scans everything a [`LogCapture`] holds (source `log`).
    pub fn scan_capture(&self, capture: &LogCapture) -> Vec<Leak> {
        self.scan("log", &capture.contents())
    }

    /// Every leak recorded so far.
    pub fn leaks(&self) -> Vec<Leak> {
        self.inner
            .leaks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many leaks were recorded so far.
    pub fn count(&self) -> usize {
        self.inner
            .leaks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// `Err` listing the first leaks when any was recorded.
    pub fn assert_clean(&self) -> Result<(), String> {
        let leaks = self.leaks();
        if leaks.is_empty() {
            return Ok(());
        }
        let shown: Vec<String> = leaks.iter().take(5).map(ToString::to_string).collect();
        Err(format!(
            "{} leak(s) of a secret or an Authorization header: {}",
            leaks.len(),
            shown.join(" | ")
        ))
    }

    /// The process-wide check: every line written through the subscriber of [`LeakCheck::install`] or of
    /// [`crate::tracing_init::capture_logs`] is scanned by it, so a test seeds it with the secrets it creates
    /// and a [`LeakGuard`] fails the test when anything leaked.
    pub fn global() -> &'static LeakCheck {
        static GLOBAL: OnceLock<LeakCheck> = OnceLock::new();
        GLOBAL.get_or_init(LeakCheck::new)
    }

    /// Installs (once per process) a global JSON subscriber with `filter` whose every line is scanned by
    /// [`LeakCheck::global`] as it is written (source `log`); nothing is kept but the findings. Returns false
    /// when a subscriber was already installed (by [`crate::tracing_init::capture_logs`], which scans too, or
    /// by an earlier call).
    pub fn install(filter: &str) -> bool {
        crate::tracing_init::install_json(filter, Self::global().clone())
    }

    /// Seeds every string under a credential-named key of `value` (a secret's JSON): keys that end in `key`,
    /// `secret(s)`, `token`, `password`, `pem` or `webhook(s)`/`webhook_url(s)`, in any case and with or
    /// without `_` (`api_key`, `private_key_pem`, `clientSecret`, `refreshToken`, `webhook_secrets`,
    /// `channelWebhooks`). Other values (ids, org names, expiry times) are not secrets and are left out.
    pub fn seed_json(&self, label: &str, value: &serde_json::Value) -> &Self {
        use serde_json::Value;
        fn walk(check: &LeakCheck, label: &str, value: &Value, credential: bool) {
            match value {
                Value::String(s) if credential => {
                    check.seed(label, s);
                }
                Value::Array(items) => items.iter().for_each(|v| walk(check, label, v, credential)),
                Value::Object(map) => {
                    for (key, v) in map {
                        let inner = credential || is_credential_key(key);
                        let label = if inner && !credential {
                            format!("{label} {key}")
                        } else {
                            label.to_owned()
                        };
                        walk(check, &label, v, inner);
                    }
                }
                _ => {}
            }
        }
        walk(self, label, value, false);
        self
    }

    /// A guard that fails (panics on drop, unless the thread is already panicking) when this check holds any
    /// leak: a test keeps `LeakCheck::global().guard()` for its whole body.
    pub fn guard(&self) -> LeakGuard {
        LeakGuard {
            check: self.clone(),
        }
    }

    fn scan_line(&self, source: &str, line: &str) -> Vec<Leak> {
        let secrets = self
            .inner
            .secrets
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let mut found: Vec<Leak> = secrets
            .iter()
            .filter(|(_, value)| line.contains(value.as_str()))
            .map(|(label, _)| Leak {
                source: source.to_owned(),
                label: label.clone(),
                excerpt: redact(line, &secrets),
            })
            .collect();
        if has_authorization_header(line) {
            found.push(Leak {
                source: source.to_owned(),
                label: "authorization header".to_owned(),
                excerpt: redact(line, &secrets),
            });
        }
        found
    }
}

fn redact(line: &str, secrets: &[(String, String)]) -> String {
    let mut out = line.to_owned();
    for (label, value) in secrets {
        out = out.replace(value.as_str(), &format!("[{label}]"));
    }
    // An Authorization value is replaced as well: the excerpt itself must be safe to print.
    let lower = out.to_ascii_lowercase();
    if let Some(at) = authorization_value_start(&lower) {
        out.truncate(at);
        out.push_str("[authorization value]");
    }
    out.chars().take(300).collect()
}

/// Credential schemes whose value follows `Authorization:`.
const SCHEMES: [&str; 5] = ["bearer ", "basic ", "token ", "bot ", "aws4-hmac-sha256 "];

/// True when `line` carries an `Authorization` header with a value (`authorization: Bearer …`,
/// `"authorization":"token …"`, `Authorization=Basic …`), or a bare `Bearer <credential>`. A redacted value
/// (`[REDACTED]`, `***`) and prose (`authorization failed`) are not leaks.
pub fn has_authorization_header(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    if authorization_value_start(&lower).is_some() {
        return true;
    }
    // A bare bearer credential, e.g. a Debug of a request header map.
    lower.match_indices("bearer ").any(|(at, m)| {
        let value: String = lower[at + m.len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "-._~+/=".contains(*c))
            .collect();
        value.len() >= MIN_SECRET_LEN && value.chars().any(|c| c.is_ascii_digit())
    })
}

/// Where the value of an `authorization` header starts in the lower-cased `line`.
fn authorization_value_start(lower: &str) -> Option<usize> {
    lower.match_indices("authorization").find_map(|(at, m)| {
        let rest = &lower[at + m.len()..];
        let trimmed = rest.trim_start_matches(['"', '\'', ' ', '\\']);
        let trimmed = trimmed.strip_prefix([':', '='])?;
        let value = trimmed.trim_start_matches(['"', '\'', ' ', '\\']);
        let start = lower.len() - value.len();
        let redacted = value.starts_with("[redacted") || value.starts_with("***");
        let credential = SCHEMES.iter().any(|s| value.starts_with(s))
            || value
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '"' && *c != ',')
                .count()
                >= MIN_SECRET_LEN;
        (credential && !redacted).then_some(start)
    })
}

/// True when a JSON key names a credential (see [`LeakCheck::seed_json`]).
fn is_credential_key(key: &str) -> bool {
    let key: String = key
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    [
        "key",
        "keypem",
        "secret",
        "secrets",
        "token",
        "password",
        "pem",
        "webhook",
        "webhooks",
        "webhookurl",
        "webhookurls",
    ]
    .iter()
    .any(|end| key.ends_with(end))
}

/// Fails the test that holds it when its check found a leak (see [`LeakCheck::guard`]).
#[derive(Debug)]
#[must_use = "the guard checks when it is dropped"]
pub struct LeakGuard {
    check: LeakCheck,
}

impl LeakGuard {
    /// Scans `text` (an error, a response, CLI output) under `source`.
    pub fn scan(&self, source: &str, text: &str) {
        self.check.scan(source, text);
    }

    /// Checks now instead of on drop.
    pub fn check(&self) -> Result<(), String> {
        self.check.assert_clean()
    }
}

impl Drop for LeakGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        if let Err(message) = self.check() {
            panic!("{message}");
        }
    }
}

/// The writer of [`LeakCheck::install`]: buffers one event's output and scans it line by line.
#[derive(Debug)]
pub struct LeakWriter {
    check: LeakCheck,
    buf: Vec<u8>,
}

impl Write for LeakWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LeakWriter {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            let text = String::from_utf8_lossy(&self.buf).into_owned();
            self.check.scan("log", &text);
        }
    }
}

impl<'a> MakeWriter<'a> for LeakCheck {
    type Writer = LeakWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LeakWriter {
            check: self.clone(),
            buf: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_value_is_found_and_never_repeated() {
        let check = LeakCheck::new();
        check.seed("spoke api key", "dev-spoke-key-0123456789");
        let leaks = check.scan(
            "error",
            "request failed: key dev-spoke-key-0123456789 refused",
        );
        assert_eq!(leaks.len(), 1);
        assert_eq!(leaks[0].label, "spoke api key");
        assert!(!leaks[0].excerpt.contains("dev-spoke-key-0123456789"));
        assert!(leaks[0].excerpt.contains("[spoke api key]"));
        assert_eq!(check.count(), 1);
        assert!(check.assert_clean().is_err());
    }

    #[test]
    fn a_pem_key_is_checked_line_by_line_and_short_values_are_ignored() {
        let check = LeakCheck::new();
        check.seed(
            "github app key",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx1234567890abcdef\n-----END RSA PRIVATE KEY-----\n",
        );
        check.seed("short", "abc");
        assert_eq!(check.seeded(), 1);
        assert_eq!(
            check
                .scan("log", "{\"pem\":\"MIIEowIBAAKCAQEAx1234567890abcdef\"}")
                .len(),
            1
        );
        assert!(check.scan("log", "BEGIN RSA PRIVATE KEY abc").is_empty());
    }

    #[test]
    fn authorization_headers_with_values_are_leaks_and_prose_is_not() {
        for leaked in [
            "authorization: Bearer ghs_0123456789abcdef",
            "{\"headers\":{\"authorization\":\"token abcdef0123456789\"}}",
            "Authorization=Basic dXNlcjpwYXNzd29yZA==",
            "headers: {\"Authorization\": \"AWS4-HMAC-SHA256 Credential=testing/20260101\"}",
            "sending Bearer xoxb-1234-5678-abcdef",
        ] {
            assert!(has_authorization_header(leaked), "{leaked}");
        }
        for fine in [
            "authorization failed for the installation",
            "{\"authorization\":\"[REDACTED]\"}",
            "the Authorization header is required",
            "bearer token expired",
        ] {
            assert!(!has_authorization_header(fine), "{fine}");
        }
        let check = LeakCheck::new();
        let leaks = check.scan("cli", "authorization: Bearer ghs_0123456789abcdef");
        assert_eq!(leaks[0].label, "authorization header");
        assert!(!leaks[0].excerpt.contains("ghs_0123456789abcdef"));
    }

    #[test]
    fn the_writer_scans_each_line_written_through_it() {
        let check = LeakCheck::new();
        check.seed("slack signing secret", "dev-slack-signing-abcdef");
        {
            let mut writer = check.make_writer();
            writer
                .write_all(b"{\"msg\":\"ok\"}\n{\"msg\":\"secret dev-slack-signing-abcdef\"}\n")
                .unwrap();
        }
        assert_eq!(check.count(), 1);
    }

    #[test]
    fn a_capture_is_scanned() {
        let mut capture = LogCapture::default();
        crate::tracing_init::write_line(&mut capture, "token=oauth-client-secret-1");
        let check = LeakCheck::new();
        check.seed("oauth client secret", "oauth-client-secret-1");
        assert_eq!(check.scan_capture(&capture).len(), 1);
    }

    #[test]
    fn seed_json_takes_credentials_and_leaves_ids_and_times() {
        let check = LeakCheck::new();
        check.seed_json(
            "cls/github",
            &serde_json::json!({
                "orgs": [{"org": "acme-corporation", "app_id": 123456789, "private_key_pem": "-----BEGIN KEY-----\nMIIEowIBAAKCAQEAx1234567890\n-----END KEY-----",
                          "webhook_secrets": ["whsec-0123456789"]}],
                "tokenManager": {"refreshToken": "int-refresh-0123", "accessTokenExpiresAt": "2027-01-01T00:00:00Z"},
                "slack": {"channelWebhooks": {"#alerts": "http://127.0.0.1:1/services/T0/B0/secret-part"}},
                "api_key": "cls-test-key"
            }),
        );
        assert_eq!(check.seeded(), 5);
        for fine in ["acme-corporation", "2027-01-01T00:00:00Z", "123456789"] {
            assert!(check.scan("log", fine).is_empty(), "{fine}");
        }
        for leaked in [
            "MIIEowIBAAKCAQEAx1234567890",
            "whsec-0123456789",
            "int-refresh-0123",
            "cls-test-key",
        ] {
            assert_eq!(check.scan("log", leaked).len(), 1, "{leaked}");
        }
        let found = check.scan(
            "log",
            "posting to http://127.0.0.1:1/services/T0/B0/secret-part",
        );
        assert_eq!(found[0].label, "cls/github channelWebhooks");
    }

    #[test]
    fn a_guard_fails_on_drop_once_its_check_found_a_leak() {
        let check = LeakCheck::new();
        check.seed("spoke api key", "cls-test-key");
        let clean = check.guard();
        assert!(clean.check().is_ok());
        drop(clean);
        let guard = check.guard();
        guard.scan("cli", "using key cls-test-key");
        assert!(guard.check().unwrap_err().contains("[spoke api key]"));
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(guard)));
        assert!(dropped.is_err(), "the guard did not fail");
    }
}
