//! Import speed: 100,000 users as JSON Lines through the release `warden user import`, into a
//! fresh SQLite file and a fresh PostgreSQL database, timed from start to exit, in users per
//! second. Import never hashes: the hashes are those of the Python libraries in
//! `tests/fixtures/python_hashes.tsv`, in turn.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::services::Database;
use crate::{Result, display_command, target_dir, workspace_root};

/// Users per run.
pub(super) const USERS: usize = 100_000;
/// The target on SQLite, users per second.
pub(super) const SQLITE_MIN_PER_SEC: f64 = 5_000.0;

/// Users per second into SQLite, then into PostgreSQL.
pub(super) struct ImportRates {
    pub sqlite: f64,
    pub postgres: f64,
}

/// Writes the file, imports it into each database and returns the rates.
pub(super) fn measure() -> Result<ImportRates> {
    let dir = target_dir().join("bench-import");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| format!("could not create {}: {e}", dir.display()))?;
    let file = dir.join("users.jsonl");
    fs::write(&file, users()?).map_err(|e| format!("could not write {}: {e}", file.display()))?;

    let sqlite = format!("sqlite://{}?mode=rwc", dir.join("warden.db").display());
    let sqlite = timed_import(&sqlite, &file)?;
    let database = Database::create("import")?;
    let postgres = timed_import(&database.url(), &file);
    database.drop_it();
    Ok(ImportRates {
        sqlite,
        postgres: postgres?,
    })
}

/// [`USERS`] lines, each a distinct email with one of the fixture's hashes.
fn users() -> Result<String> {
    let fixture = workspace_root().join("tests/fixtures/python_hashes.tsv");
    let text = fs::read_to_string(&fixture)
        .map_err(|e| format!("could not read {}: {e}", fixture.display()))?;
    let hashes: Vec<&str> = text.lines().filter_map(|l| l.split('\t').nth(2)).collect();
    if hashes.is_empty() {
        return Err(format!("no hashes in {}", fixture.display()));
    }
    let mut out = String::with_capacity(USERS * 200);
    for n in 0..USERS {
        let hash = hashes[n % hashes.len()];
        let _ = writeln!(
            out,
            r#"{{"email":"bench{n}@example.com","password_hash":"{hash}","display_name":"User {n}"}}"#
        );
    }
    Ok(out)
}

/// `warden migrate`, then `warden user import --file FILE` timed; users per second.
fn timed_import(database_url: &str, file: &Path) -> Result<f64> {
    let cli = target_dir().join("release/warden");
    let command = |args: &[&str]| {
        let mut command = Command::new(&cli);
        command
            .args(args)
            .env("WARDEN_DATABASE__URL", database_url)
            .env_remove("RUST_LOG");
        command
    };
    run_quiet(&mut command(&["migrate"]))?;
    let mut import = command(&["user", "import", "--file"]);
    import.arg(file);
    let started = Instant::now();
    let stdout = run_quiet(&mut import)?;
    let seconds = started.elapsed().as_secs_f64();
    let expected = format!("imported {USERS}, skipped 0, refused 0");
    if stdout.trim() != expected {
        return Err(format!("the import said {stdout:?}, not {expected:?}"));
    }
    let rate = f64::from(u32::try_from(USERS).unwrap_or(u32::MAX)) / seconds;
    println!("  {USERS} users in {seconds:.2} s: {rate:.0} users/s");
    Ok(rate)
}

/// Runs the command, failing with its stderr; returns its stdout.
fn run_quiet(command: &mut Command) -> Result<String> {
    let line = display_command(command);
    println!("$ {line}");
    let output = command
        .output()
        .map_err(|e| format!("could not start `{line}`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`{line}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
