//! The zipped size of each Lambda artifact: the binary stored as `bootstrap` in a one-entry zip archive,
//! deflated at the default level, which is what a `provided.al2023` function is deployed from. arm64 from
//! `cargo xtask lambda-build` (`<target>/lambda/<fn>/bootstrap`), x86_64 from this run's release build.

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, ensure};
use demo::binaries::FUNCTIONS;
use devstack::stack::workspace_root;
use flate2::Compression;
use flate2::write::DeflateEncoder;

use super::release::{FLOOR, Release};
use super::results::Entry;

/// The `artifacts` group: each function zipped for arm64 (when `lambda-build` left it) and for x86_64, and
/// the floor's x86_64 zip for comparison.
pub(crate) fn entries(release: &Release) -> Vec<Entry> {
    let lambda_dir = release.target_dir().map(|t| t.join("lambda"));
    let mut entries = Vec::new();
    for function in FUNCTIONS {
        let native = release.executable(function).ok();
        let bootstrap = lambda_dir
            .as_ref()
            .map(|dir| dir.join(function).join("bootstrap"));
        match bootstrap.filter(|b| b.is_file()) {
            Some(bootstrap) => {
                let mut entry = zipped_entry(function, "aarch64", &bootstrap)
                    .command_line("cargo xtask lambda-build && cargo xtask bench");
                if let Some(native) = native
                    && is_older(&bootstrap, native)
                {
                    entry.note = "older than this run's x86_64 build of the same function: rerun `cargo xtask lambda-build`".to_owned();
                    entry = entry.with("stale", true);
                }
                entries.push(entry);
            }
            None => entries.push(Entry::skipped(
                "artifacts",
                &format!("{}_aarch64", function.replace('-', "_")),
                &format!("`{function}` zipped bootstrap (aarch64, release)"),
                &format!("`lambda/{function}/bootstrap` is not in the target directory; produce it with `cargo xtask lambda-build`"),
            )),
        }
        if let Some(native) = native {
            entries.push(zipped_entry(function, "x86_64", native));
        }
    }
    if let Ok(floor) = release.executable(FLOOR) {
        entries.push(zipped_entry(FLOOR, "x86_64", floor).note("the floor, for comparison"));
    }
    entries
}

/// True when `artifact` was written more than a minute before `reference`.
fn is_older(artifact: &Path, reference: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(artifact), modified(reference)) {
        (Some(a), Some(r)) => r
            .duration_since(a)
            .is_ok_and(|d| d > Duration::from_secs(60)),
        _ => false,
    }
}

/// `binary` zipped as a Lambda artifact (`target/bench/zips/<function>-<arch>.zip`): the zipped size in MiB,
/// the unzipped size beside it.
fn zipped_entry(function: &str, arch: &str, binary: &Path) -> Entry {
    let title = format!("`{function}` zipped bootstrap ({arch}, release)");
    let name = format!("{}_{arch}", function.replace('-', "_"));
    let zip = workspace_root()
        .join("target/bench/zips")
        .join(format!("{function}-{arch}.zip"));
    let unzipped = std::fs::metadata(binary).map(|m| m.len()).unwrap_or(0);
    let built = std::fs::metadata(binary)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .and_then(|d| chrono::DateTime::from_timestamp(i64::try_from(d.as_secs()).ok()?, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    match zip_bootstrap(binary, &zip) {
        Ok(bytes) => Entry::value(
            "artifacts",
            &name,
            &title,
            "MiB",
            bytes as f64 / 1_048_576.0,
        )
        .with("unzipped_mib", unzipped as f64 / 1_048_576.0)
        .with("built", built),
        Err(error) => Entry::failed("artifacts", &name, &title, &format!("{error:#}")),
    }
}

/// Writes `binary` as the entry `bootstrap` (mode 0755) into a new zip archive at `zip`; returns its size in
/// bytes.
fn zip_bootstrap(binary: &Path, zip: &Path) -> Result<u64> {
    let data = std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    let archive = bootstrap_zip(&data)?;
    if let Some(dir) = zip.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(zip, &archive).with_context(|| format!("writing {}", zip.display()))?;
    Ok(archive.len() as u64)
}

/// A zip archive (PKWARE APPNOTE 4.3: local header, data, central directory, end record) holding `data` as
/// `bootstrap`, deflated.
fn bootstrap_zip(data: &[u8]) -> Result<Vec<u8>> {
    const NAME: &[u8] = b"bootstrap";
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data)?;
    let compressed = encoder.finish()?;
    let mut crc = flate2::Crc::new();
    crc.update(data);
    let crc = crc.sum();
    let size = u32::try_from(data.len()).context("the binary is over 4 GiB")?;
    let packed = u32::try_from(compressed.len()).context("the archive is over 4 GiB")?;
    ensure!(!compressed.is_empty(), "deflate produced nothing");
    // Version 2.0, no flags, method 8 (deflate), DOS time/date 1980-01-01 00:00.
    let common = |out: &mut Vec<u8>| {
        out.extend_from_slice(&20_u16.to_le_bytes());
        out.extend_from_slice(&0_u16.to_le_bytes());
        out.extend_from_slice(&8_u16.to_le_bytes());
        out.extend_from_slice(&0_u16.to_le_bytes());
        out.extend_from_slice(&0x21_u16.to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&packed.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&(NAME.len() as u16).to_le_bytes());
        out.extend_from_slice(&0_u16.to_le_bytes());
    };
    let mut out = Vec::with_capacity(compressed.len() + 128);
    out.extend_from_slice(&0x0403_4b50_u32.to_le_bytes());
    common(&mut out);
    out.extend_from_slice(NAME);
    out.extend_from_slice(&compressed);
    let central_at = u32::try_from(out.len()).context("the archive is over 4 GiB")?;
    out.extend_from_slice(&0x0201_4b50_u32.to_le_bytes());
    // Made by: Unix (3), version 2.0.
    out.extend_from_slice(&0x031e_u16.to_le_bytes());
    common(&mut out);
    out.extend_from_slice(&0_u16.to_le_bytes()); // comment length
    out.extend_from_slice(&0_u16.to_le_bytes()); // disk number
    out.extend_from_slice(&0_u16.to_le_bytes()); // internal attributes
    out.extend_from_slice(&((0o100_755_u32) << 16).to_le_bytes()); // regular file, rwxr-xr-x
    out.extend_from_slice(&0_u32.to_le_bytes()); // local header offset
    out.extend_from_slice(NAME);
    let central_len = u32::try_from(out.len()).context("the archive is over 4 GiB")? - central_at;
    out.extend_from_slice(&0x0605_4b50_u32.to_le_bytes());
    out.extend_from_slice(&0_u16.to_le_bytes());
    out.extend_from_slice(&0_u16.to_le_bytes());
    out.extend_from_slice(&1_u16.to_le_bytes());
    out.extend_from_slice(&1_u16.to_le_bytes());
    out.extend_from_slice(&central_len.to_le_bytes());
    out.extend_from_slice(&central_at.to_le_bytes());
    out.extend_from_slice(&0_u16.to_le_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::DeflateDecoder;
    use std::io::Read as _;

    #[test]
    fn the_archive_holds_the_binary_deflated_with_its_crc_and_a_valid_directory() {
        let data: Vec<u8> = (0..50_000_u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let zip = bootstrap_zip(&data).unwrap();
        let u16_at = |at: usize| u16::from_le_bytes([zip[at], zip[at + 1]]);
        let u32_at =
            |at: usize| u32::from_le_bytes([zip[at], zip[at + 1], zip[at + 2], zip[at + 3]]);
        assert_eq!(u32_at(0), 0x0403_4b50);
        assert_eq!(u16_at(8), 8, "deflate");
        let packed = u32_at(18) as usize;
        assert_eq!(u32_at(22) as usize, data.len());
        assert_eq!(&zip[30..39], b"bootstrap");
        let mut inflated = Vec::new();
        DeflateDecoder::new(&zip[39..39 + packed])
            .read_to_end(&mut inflated)
            .unwrap();
        assert_eq!(inflated, data);
        let mut crc = flate2::Crc::new();
        crc.update(&data);
        assert_eq!(u32_at(14), crc.sum());
        // The end record points at the central directory, which names the entry.
        let end = zip.len() - 22;
        assert_eq!(u32_at(end), 0x0605_4b50);
        let central = u32_at(end + 16) as usize;
        assert_eq!(central, 39 + packed);
        assert_eq!(u32_at(central), 0x0201_4b50);
        assert_eq!(&zip[central + 46..central + 55], b"bootstrap");
        assert!(
            zip.len() < data.len() / 2,
            "deflated {} of {}",
            zip.len(),
            data.len()
        );
    }
}
