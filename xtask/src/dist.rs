//! `cargo xtask dist`: the release bundle, and its checks.
//!
//! Builds both binaries in release, strips them, and packs them with a commented example
//! configuration (`warden config example`), the hardened systemd unit (`dist/warden.service`),
//! the docs and a `SHA256SUMS` into `target/dist/warden-<version>-<arch>-linux.tar.gz` (and its
//! own checksum beside it, `.tar.gz.sha256`). Then it
//! checks what it made: each binary under [`MAX_BINARY_BYTES`] and answering `--version`, the
//! example loading back through `warden config check`, the unit passing `systemd-analyze
//! verify` without a word and `systemd-analyze security` at an exposure of at most
//! [`MAX_EXPOSURE`], and every checksum matching (`sha256sum -c`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Result, cargo, ensure_debian_package, run_command, target_dir, workspace_root};

/// The binaries of the bundle: (package, binary).
const BINARIES: [(&str, &str); 2] = [("warden-server", "warden-api"), ("warden-cli", "warden")];
/// The most a stripped binary may weigh.
const MAX_BINARY_BYTES: u64 = 30 * 1024 * 1024;
/// The most exposure `systemd-analyze security` may give the unit, in its tenths (2.0 of 10).
const MAX_EXPOSURE: u32 = 20;
/// The documents the bundle carries, from the repository root.
const DOCS: [&str; 6] = [
    "README.md",
    "docs/API.md",
    "docs/OPERATIONS.md",
    "docs/SECURITY.md",
    "docs/SCALING.md",
    "docs/ARCHITECTURE.md",
];
const UNIT: &str = "dist/warden.service";

pub(crate) fn run() -> Result {
    let mut build = cargo();
    build.args(["build", "--release", "--locked"]);
    for (package, _) in BINARIES {
        build.args(["-p", package]);
    }
    run_command(&mut build)?;
    let name = format!(
        "warden-{}-{}-linux",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    );
    let out = target_dir().join("dist");
    let bundle = out.join(&name);
    if bundle.exists() {
        fs::remove_dir_all(&bundle).map_err(|e| format!("{}: {e}", bundle.display()))?;
    }
    for dir in ["bin", "docs", "systemd"] {
        create_dir(&bundle.join(dir))?;
    }
    let release = target_dir().join("release");
    for (_, binary) in BINARIES {
        let to = bundle.join("bin").join(binary);
        copy(&release.join(binary), &to)?;
        run_command(Command::new("strip").arg(&to))?;
    }
    let example = capture(Command::new(bundle.join("bin/warden")).args(["config", "example"]))?;
    write(&bundle.join("warden.toml.example"), &example)?;
    copy(
        &workspace_root().join(UNIT),
        &bundle.join("systemd/warden.service"),
    )?;
    for doc in DOCS {
        let file = Path::new(doc).file_name().unwrap_or_default();
        copy(&workspace_root().join(doc), &bundle.join("docs").join(file))?;
    }
    let sums = capture(
        Command::new("sha256sum")
            .current_dir(&bundle)
            .args(files_under(&bundle, &bundle)?),
    )?;
    write(&bundle.join("SHA256SUMS"), &sums)?;
    let tarball = out.join(format!("{name}.tar.gz"));
    run_command(
        Command::new("tar")
            .current_dir(&out)
            .args(["--sort=name", "--owner=0", "--group=0", "--numeric-owner"])
            .arg("-czf")
            .arg(&tarball)
            .arg(&name),
    )?;
    let tar_sum = capture(
        Command::new("sha256sum")
            .current_dir(&out)
            .arg(format!("{name}.tar.gz")),
    )?;
    write(&out.join(format!("{name}.tar.gz.sha256")), &tar_sum)?;
    check(&bundle)?;
    println!(
        "dist: {} ({} KiB)",
        tarball.display(),
        size(&tarball)? / 1024
    );
    Ok(())
}

/// The checks of an unpacked bundle.
fn check(bundle: &Path) -> Result {
    for (_, binary) in BINARIES {
        let path = bundle.join("bin").join(binary);
        let bytes = size(&path)?;
        println!("dist: bin/{binary} is {:.1} MiB", mib(bytes));
        if bytes > MAX_BINARY_BYTES {
            return Err(format!(
                "bin/{binary} is {:.1} MiB, over the {:.0} MiB bound",
                mib(bytes),
                mib(MAX_BINARY_BYTES)
            ));
        }
        let version = capture(Command::new(&path).arg("--version"))?;
        if !version.contains(env!("CARGO_PKG_VERSION")) {
            return Err(format!("bin/{binary} --version said {version:?}"));
        }
    }
    // The example is a valid configuration as it stands (development: no key needed).
    run_command(
        Command::new(bundle.join("bin/warden"))
            .args(["config", "check"])
            .env("WARDEN_CONFIG", bundle.join("warden.toml.example"))
            .env("WARDEN_PROFILE", "development"),
    )?;
    run_command(Command::new("sha256sum").current_dir(bundle).args([
        "--check",
        "--quiet",
        "SHA256SUMS",
    ]))?;
    check_unit(bundle)
}

/// `systemd-analyze verify` must say nothing of the unit (it exits 0 even on a setting it
/// ignores), and `systemd-analyze security` must rate it at most [`MAX_EXPOSURE`]. The unit's
/// binary path is the installed one, so the checked copy points at the bundle's.
fn check_unit(bundle: &Path) -> Result {
    ensure_debian_package("systemd-analyze", "systemd", || {
        let out = Command::new("systemd-analyze")
            .arg("--version")
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        out.status
            .success()
            .then(|| text.lines().next().unwrap_or_default().to_owned())
    })?;
    let unit = fs::read_to_string(bundle.join("systemd/warden.service"))
        .map_err(|e| format!("the bundle's unit: {e}"))?;
    let binary = bundle.join("bin/warden-api");
    let checked = unit_with_binary(&unit, &binary)?;
    let dir = target_dir().join("dist/unit-check");
    create_dir(&dir)?;
    let path = dir.join("warden.service");
    write(&path, &checked)?;
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .map_err(|e| format!("systemd-analyze verify: {e}"))?;
    let said = String::from_utf8_lossy(&verify.stderr).into_owned()
        + &String::from_utf8_lossy(&verify.stdout);
    if !verify.status.success() || !said.trim().is_empty() {
        return Err(format!("systemd-analyze verify refused the unit:\n{said}"));
    }
    println!("dist: systemd-analyze verify: the unit is clean");
    let threshold = format!("--threshold={MAX_EXPOSURE}");
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager", &threshold])
        .arg(&path)
        .output()
        .map_err(|e| format!("systemd-analyze security: {e}"))?;
    let report = String::from_utf8_lossy(&security.stdout);
    let overall = report
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or("no overall exposure level")
        .trim();
    if !security.status.success() {
        return Err(format!(
            "systemd-analyze security rates the unit over {}.{}: {overall}",
            MAX_EXPOSURE / 10,
            MAX_EXPOSURE % 10
        ));
    }
    println!("dist: systemd-analyze security: {overall}");
    Ok(())
}

/// The unit with its `ExecStart=` binary replaced by `binary`.
fn unit_with_binary(unit: &str, binary: &Path) -> Result<String> {
    let mut found = false;
    let lines: Vec<String> = unit
        .lines()
        .map(|line| match line.strip_prefix("ExecStart=") {
            Some(command) => {
                found = true;
                let args = command.split_once(' ').map_or("", |(_, args)| args);
                format!("ExecStart={} {args}", binary.display())
                    .trim_end()
                    .to_owned()
            }
            None => line.to_owned(),
        })
        .collect();
    if found {
        Ok(lines.join("\n") + "\n")
    } else {
        Err(format!("{UNIT} has no ExecStart="))
    }
}

/// Every file under `dir`, relative to `base`, sorted.
fn files_under(dir: &Path, base: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            files.extend(files_under(&path, base)?);
        } else if let Ok(relative) = path.strip_prefix(base) {
            files.push(relative.to_path_buf());
        }
    }
    files.sort();
    Ok(files)
}

fn capture(command: &mut Command) -> Result<String> {
    let out = command
        .output()
        .map_err(|e| format!("{}: {e}", command.get_program().display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed ({}): {}",
            command.get_program().display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn create_dir(dir: &Path) -> Result {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))
}

fn copy(from: &Path, to: &Path) -> Result {
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copy {} to {}: {e}", from.display(), to.display()))
}

fn write(path: &Path, text: &str) -> Result {
    fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn size(path: &Path) -> Result<u64> {
    fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[allow(clippy::cast_precision_loss)]
fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checked_unit_runs_the_bundles_binary_with_the_same_arguments() {
        let unit = "[Service]\nExecStart=/usr/local/bin/warden-api --flag x\nUser=a\n";
        let checked = unit_with_binary(unit, Path::new("/b/bin/warden-api")).unwrap();
        assert_eq!(
            checked,
            "[Service]\nExecStart=/b/bin/warden-api --flag x\nUser=a\n"
        );
        let bare = unit_with_binary("ExecStart=/usr/local/bin/warden-api\n", Path::new("/b/w"));
        assert_eq!(bare.unwrap(), "ExecStart=/b/w\n");
        assert!(unit_with_binary("[Service]\n", Path::new("/b/w")).is_err());
    }

    #[test]
    fn the_shipped_unit_is_hardened() {
        let unit = fs::read_to_string(workspace_root().join(UNIT)).unwrap();
        for setting in [
            "DynamicUser=yes",
            "ProtectSystem=strict",
            "NoNewPrivileges=yes",
            "CapabilityBoundingSet=\n",
            "ExecStart=/usr/local/bin/warden-api\n",
        ] {
            assert!(unit.contains(setting), "{setting:?} missing from {UNIT}");
        }
    }
}
