//! `user import` and `user export`: users with their password hashes, as JSON Lines, in and out.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use warden_adapters::Services;
use warden_domain::import::{ImportOptions, ImportReport, MAX_LINE_BYTES, export_line};
use warden_domain::principal::Principal;

use crate::cli::ImportUsers;
use crate::commands::describe;

/// `user import`: each refused line on stderr, then the summary (or the JSON report) on
/// stdout. Fails when a line was refused, so that a script notices, after writing the rest.
pub(crate) async fn import(services: &Services, args: ImportUsers) -> Result<(), String> {
    let input: Box<dyn Read> = if args.file.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        let file = File::open(&args.file)
            .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
        Box::new(file)
    };
    let options = ImportOptions {
        on_conflict: args.on_conflict,
        dry_run: args.dry_run,
    };
    let mut import = services
        .admin
        .import(&Principal::operator(), options)
        .map_err(|e| describe(&e, None))?;
    let mut reader = BufReader::with_capacity(64 * 1024, input);
    let mut line = Vec::with_capacity(1024);
    let mut number = 0;
    loop {
        let more = read_bounded_line(&mut reader, &mut line)
            .map_err(|e| format!("cannot read line {}: {e}", number + 1))?;
        if !more {
            break;
        }
        number += 1;
        if let Err(e) = import.line(number, &line).await {
            report(import.report(), args.json)?;
            return Err(format!(
                "stopped at line {number}, the lines before its batch are written: {}",
                describe(&e, None)
            ));
        }
    }
    let done = import.finish().await.map_err(|e| describe(&e, None))?;
    report(&done, args.json)?;
    if done.refused > 0 {
        return Err(format!("{} lines were refused", done.refused));
    }
    Ok(())
}

/// Reads one line into `line`, without its `\n` or `\r\n`, holding at most one byte more than
/// [`MAX_LINE_BYTES`] of it (the import refuses it then); `false` at the end of the input.
fn read_bounded_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<bool> {
    line.clear();
    let mut any = false;
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            break;
        }
        any = true;
        let (chunk, used, end) = match buffer.iter().position(|b| *b == b'\n') {
            Some(at) => (&buffer[..at], at + 1, true),
            None => (buffer, buffer.len(), false),
        };
        let room = (MAX_LINE_BYTES + 1).saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        reader.consume(used);
        if end {
            break;
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(any)
}

/// Each refusal on stderr, then the summary or the JSON report on stdout.
fn report(report: &ImportReport, json: bool) -> Result<(), String> {
    for refusal in &report.refusals {
        eprintln!("line {}: {}", refusal.line, refusal.reason);
    }
    if json {
        let text = serde_json::to_string_pretty(&warden_api::dto::import_report_json(report))
            .map_err(|e| format!("cannot print JSON: {e}"))?;
        println!("{text}");
    } else {
        let updated = if report.updated > 0 {
            format!(", updated {}", report.updated)
        } else {
            String::new()
        };
        let dry = if report.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        };
        println!(
            "imported {}, skipped {}, refused {}{updated}{dry}",
            report.imported, report.skipped, report.refused
        );
    }
    Ok(())
}

/// `user export`: every user into a file of mode 0600, written beside the target and renamed
/// over it once whole, so that no reader ever sees half of it and no other user can read it.
pub(crate) async fn export(services: &Services, path: &Path) -> Result<(), String> {
    let users = services
        .admin
        .list_all(&Principal::operator())
        .await
        .map_err(|e| describe(&e, None))?;
    let name = path
        .file_name()
        .ok_or_else(|| format!("{} names no file", path.display()))?;
    let partial = path.with_file_name(format!(".{}.partial", name.to_string_lossy()));
    let written = write_private(&partial, users.iter().map(export_line));
    if let Err(e) = written.and_then(|()| fs::rename(&partial, path)) {
        let _ = fs::remove_file(&partial);
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    // On stderr whatever RUST_LOG says: the tool's logs are off by default.
    eprintln!(
        "warden: warning: {} holds every user's password hash: keep it as secret as the \
         database",
        path.display()
    );
    println!("exported {} users to {}", users.len(), path.display());
    Ok(())
}

/// Writes the lines to a new file that only its owner may read or write.
fn write_private(path: &Path, lines: impl Iterator<Item = String>) -> io::Result<()> {
    let _ = fs::remove_file(path);
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    let mut out = BufWriter::new(file);
    for line in lines {
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.into_inner()
        .map_err(io::IntoInnerError::into_error)?
        .sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(input: &[u8]) -> Vec<Vec<u8>> {
        let mut reader = BufReader::with_capacity(7, input);
        let mut line = Vec::new();
        let mut all = Vec::new();
        while read_bounded_line(&mut reader, &mut line).unwrap() {
            all.push(line.clone());
        }
        all
    }

    #[test]
    fn lines_end_at_newlines_crlf_or_the_end_and_a_long_one_is_cut_past_the_bound() {
        assert_eq!(
            lines_of(b"a\r\nbb\n\nccc"),
            vec![b"a".to_vec(), b"bb".to_vec(), vec![], b"ccc".to_vec()]
        );
        assert!(lines_of(b"").is_empty());
        let long = vec![b'x'; MAX_LINE_BYTES * 3];
        let mut input = long.clone();
        input.extend_from_slice(b"\nafter\n");
        let read = lines_of(&input);
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].len(), MAX_LINE_BYTES + 1);
        assert_eq!(read[1], b"after");
        let exact = vec![b'x'; MAX_LINE_BYTES];
        assert_eq!(lines_of(&exact)[0].len(), MAX_LINE_BYTES);
    }

    #[test]
    fn a_private_file_is_mode_0600_and_holds_every_line() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("warden-export-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.jsonl");
        write_private(&path, ["a".to_owned(), "b".to_owned()].into_iter()).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(fs::read_to_string(&path).unwrap(), "a\nb\n");
        fs::remove_dir_all(&dir).unwrap();
    }
}
