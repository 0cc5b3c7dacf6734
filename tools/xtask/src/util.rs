//! Process and path helpers.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// The workspace root (two levels above this crate's manifest).
pub(crate) fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest.to_path_buf())
}

/// A command rooted at the workspace, echoing itself before it runs.
pub(crate) fn cmd(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Command {
    let mut command = Command::new(program);
    command.args(args).current_dir(root());
    command
}

/// Runs a command with inherited stdio; an error when it cannot start or exits non-zero.
pub(crate) fn run(command: &mut Command) -> Result<()> {
    let shown = show(command);
    println!("$ {shown}");
    let status = command
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Runs a command quietly and returns its stdout when it succeeds, `None` when it fails or cannot start.
pub(crate) fn output(command: &mut Command) -> Option<String> {
    let out = command.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `program arg arg` for messages.
pub(crate) fn show(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Looks `name` up on `PATH` (read through `which`, which avoids reading the environment here).
pub(crate) fn on_path(name: &str) -> Option<PathBuf> {
    let found = output(Command::new("sh").args(["-c", &format!("command -v {name}")]))?;
    let path = PathBuf::from(found.trim());
    path.is_file().then_some(path)
}

/// `path` relative to the workspace root.
pub(crate) fn at(path: &str) -> PathBuf {
    root().join(path)
}

/// The modification time of `path`, if it exists.
pub(crate) fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// `1m 02s` / `4.2s`.
pub(crate) fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 60.0 {
        let whole = d.as_secs();
        format!("{}m {:02}s", whole / 60, whole % 60)
    } else {
        format!("{secs:.1}s")
    }
}

/// Replaces this process with `cargo run -p <package> -- <args>` (so Ctrl-C and SIGTERM reach that binary,
/// which stops its children), or runs it as a child where `exec` is unavailable. `demo` runs `up`, `demo`
/// and `invoke`; `bench` the benchmark; `chaos` the chaos suite.
pub(crate) fn exec_package(package: &str, args: &[String]) -> Result<ExitCode> {
    let mut command = Command::new("cargo");
    command
        .args(["run", "--quiet", "--locked", "-p", package, "--"])
        .args(args)
        .current_dir(root());
    exec_or_run(&mut command)
}

/// Replaces this process with `command` (signals and the exit code go straight to it), or runs it as a child
/// and returns its outcome where `exec` is unavailable.
pub(crate) fn exec_or_run(command: &mut Command) -> Result<ExitCode> {
    let shown = show(command);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = command.exec();
        Err(error).with_context(|| format!("could not exec `{shown}`"))
    }
    #[cfg(not(unix))]
    {
        let status = command
            .status()
            .with_context(|| format!("could not start `{shown}`"))?;
        Ok(if status.success() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}
