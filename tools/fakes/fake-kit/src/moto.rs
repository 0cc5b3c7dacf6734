//! A supervised moto server: the local stand-in for SQS and Secrets Manager.
//!
//! The server runs under a tiny `sh` watchdog that reads our stdin: when the `Moto` value is dropped, or the
//! parent process dies for any reason, the pipe closes and the watchdog stops moto. No moto outlives its owner.

use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

/// Starting moto failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MotoError {
    /// No moto_server executable was found.
    #[error("moto_server not found (looked for {looked_for}); run `cargo xtask setup`")]
    NotInstalled {
        /// Where we looked.
        looked_for: String,
    },
    /// The process could not be started.
    #[error("cannot start moto_server")]
    Spawn(#[source] std::io::Error),
    /// moto did not answer in time.
    #[error("moto_server did not become ready on port {port} within {secs} s (log: {log})")]
    NotReady {
        /// The port.
        port: u16,
        /// Seconds waited.
        secs: u64,
        /// Its log file.
        log: String,
    },
}

/// A running moto server on `127.0.0.1`.
#[derive(Debug)]
pub struct Moto {
    port: u16,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
}

/// How long a starting moto_server may take to answer. Its cold start (importing boto and moto) takes a few
/// seconds alone and ten times that on a machine whose cores are busy compiling, which is when tests start it.
const READY_LIMIT: Duration = Duration::from_secs(90);

impl Moto {
    /// Starts a new moto server on a free loopback port and waits until it answers.
    pub async fn start() -> Result<Self, MotoError> {
        Self::start_on(0).await
    }

    /// Starts moto on `port` (0 = a free one).
    pub async fn start_on(port: u16) -> Result<Self, MotoError> {
        let bin = locate()?;
        let port = if port == 0 {
            free_port().map_err(MotoError::Spawn)?
        } else {
            port
        };
        let log = std::env::temp_dir().join(format!("moto-{port}.log"));
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#""$0" -H 127.0.0.1 -p "$1" </dev/null >"$2" 2>&1 & pid=$!; read dummy; kill $pid 2>/dev/null; wait $pid"#)
            .arg(&bin)
            .arg(port.to_string())
            .arg(&log)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(MotoError::Spawn)?;
        let stdin = child.stdin.take();
        let moto = Self {
            port,
            child: Some(child),
            stdin,
        };
        moto.wait_ready(READY_LIMIT, &log).await?;
        Ok(moto)
    }

    /// One moto server shared by every test of the calling test binary (started on first use). Tests that
    /// share it must use unique queue and secret names.
    pub async fn shared() -> Result<&'static Self, MotoError> {
        static SHARED: OnceCell<Moto> = OnceCell::const_new();
        SHARED.get_or_try_init(Self::start).await
    }

    /// The endpoint URL, e.g. `http://127.0.0.1:45123`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    async fn wait_ready(&self, limit: Duration, log: &Path) -> Result<(), MotoError> {
        let client = crate::http::client_builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| MotoError::Spawn(std::io::Error::other(e.without_url())))?;
        let url = format!("{}/moto-api/", self.endpoint());
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(resp) = client.get(&url).send().await
                && resp.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(MotoError::NotReady {
            port: self.port,
            secs: limit.as_secs(),
            log: log.display().to_string(),
        })
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"stop\n");
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

/// Finds `moto_server`: `DEVSTACK_MOTO_BIN`, else `.venv/bin/moto_server` in the workspace root or above.
pub fn locate() -> Result<PathBuf, MotoError> {
    // Test infrastructure: an explicit override is read from the environment here, nowhere else.
    #[allow(clippy::disallowed_methods)]
    if let Some(bin) = std::env::var_os("DEVSTACK_MOTO_BIN") {
        let bin = PathBuf::from(bin);
        if bin.is_file() {
            return Ok(bin);
        }
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut looked = Vec::new();
    for dir in manifest.ancestors() {
        let candidate = dir.join(".venv/bin/moto_server");
        if candidate.is_file() {
            return Ok(candidate);
        }
        looked.push(candidate.display().to_string());
    }
    Err(MotoError::NotInstalled {
        looked_for: looked.join(", "),
    })
}

fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}
