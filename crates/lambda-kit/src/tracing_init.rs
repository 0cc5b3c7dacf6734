//! Log set-up: JSON lines in Lambda, human text locally, one span per invocation.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::writer::MakeWriterExt;

use crate::config::{ConfigReader, env_lookup};

static COLD: AtomicBool = AtomicBool::new(true);

/// Installs the global subscriber once, in `main`. JSON lines carry the current span (`span`) and every
/// enclosing span (`spans`), so `request_id` and `cold_start` of the invocation span reach nested lines too.
/// JSON when running in Lambda (`AWS_LAMBDA_FUNCTION_NAME`
/// set) or when `LOG_FORMAT=json`; text when `LOG_FORMAT=text` or outside Lambda. The level comes from
/// `AWS_LAMBDA_LOG_LEVEL`, then `RUST_LOG`, then `info`. Calling it twice is harmless.
pub fn init_tracing() {
    let env = ConfigReader::new(env_lookup());
    let filter = env
        .first_of(&["AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"])
        .map(|l| l.to_ascii_lowercase())
        .unwrap_or_else(|| "info".to_owned());
    let _ = install(json_wanted(&env), &filter, std::io::stderr);
}

/// [`init_tracing`] with an explicit filter (`EnvFilter` syntax) that wins over the environment's level:
/// an operator CLI's `--verbose`.
pub fn init_tracing_with_filter(filter: &str) {
    let env = ConfigReader::new(env_lookup());
    let _ = install(json_wanted(&env), filter, std::io::stderr);
}

fn json_wanted<F: Fn(&str) -> Option<String>>(env: &ConfigReader<F>) -> bool {
    match env.optional("LOG_FORMAT").map(|f| f.to_ascii_lowercase()) {
        Some(f) if f == "json" => true,
        Some(f) if f == "text" => false,
        _ => env.optional("AWS_LAMBDA_FUNCTION_NAME").is_some(),
    }
}

/// Installs a JSON subscriber at `filter` writing to `writer`; false when one was already installed.
pub(crate) fn install_json<W>(filter: &str, writer: W) -> bool
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    install(true, filter, writer)
}

fn install<W>(json: bool, filter: &str, writer: W) -> bool
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(true);
    // `try_init` fails only when a subscriber is already installed, which is fine.
    let installed = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .try_init()
    } else {
        builder.with_ansi(false).try_init()
    };
    installed.is_ok()
}

/// The span every invocation runs in. `cold_start` is true for the first invocation of the process.
/// Handlers add their domain id (`delivery_id`, `team_id`, …) with `Span::record` on a declared field,
/// or as a child span.
pub fn invocation_span(request_id: &str) -> tracing::Span {
    let cold_start = COLD.swap(false, Ordering::SeqCst);
    tracing::info_span!("invocation", request_id = %request_id, cold_start)
}

/// Every log line written since [`capture_logs`] was first called in this process, as JSON lines.
/// Tests use it to prove that no secret reaches the logs.
#[derive(Clone, Debug, Default)]
pub struct LogCapture {
    buf: Arc<Mutex<Vec<u8>>>,
}

impl LogCapture {
    /// Everything captured so far.
    pub fn contents(&self) -> String {
        let buf = self
            .buf
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// Fails with the offending line when any captured line contains one of `needles`.
    pub fn assert_absent(&self, needles: &[&str]) -> Result<(), String> {
        let contents = self.contents();
        for needle in needles.iter().filter(|n| !n.is_empty()) {
            if let Some(line) = contents.lines().find(|l| l.contains(needle)) {
                return Err(format!("a secret appears in the logs: {line}"));
            }
        }
        Ok(())
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs (once per process) a global JSON subscriber at `debug` that writes into memory, and returns the
/// capture. Every test of a test binary shares it, so a test that checks for secrets sees all lines logged
/// by all tests of the binary so far. Every line is also scanned by [`crate::LeakCheck::global`], so a
/// secret a test seeded there fails its [`crate::leak::LeakGuard`] wherever it was logged.
pub fn capture_logs() -> LogCapture {
    static CAPTURE: OnceLock<LogCapture> = OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let capture = LogCapture::default();
            let writer = capture.clone().and(crate::LeakCheck::global().clone());
            let _ = install(true, "debug", writer);
            capture
        })
        .clone()
}

/// Writes one line to a capture; used by the crate's own tests.
#[doc(hidden)]
pub fn write_line(capture: &mut LogCapture, line: &str) {
    let _ = writeln!(capture, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_invocation_is_a_cold_start() {
        let capture = capture_logs();
        {
            let span = invocation_span("req-1");
            let _g = span.enter();
            tracing::info!(outcome = "first", "handled");
        }
        {
            let span = invocation_span("req-2");
            let _g = span.enter();
            tracing::info!(outcome = "second", "handled");
        }
        let lines = capture.contents();
        let first = lines.lines().find(|l| l.contains("\"first\"")).unwrap();
        let second = lines.lines().find(|l| l.contains("\"second\"")).unwrap();
        let first: serde_json::Value = serde_json::from_str(first).unwrap();
        let second: serde_json::Value = serde_json::from_str(second).unwrap();
        assert_eq!(first["span"]["request_id"], "req-1");
        assert_eq!(first["span"]["cold_start"], true);
        assert_eq!(second["span"]["cold_start"], false);
    }

    #[test]
    fn the_capture_finds_a_leaked_secret() {
        let mut capture = LogCapture::default();
        write_line(&mut capture, "token=hunter2");
        assert!(capture.assert_absent(&["hunter2"]).is_err());
        assert!(capture.assert_absent(&["other"]).is_ok());
    }
}
