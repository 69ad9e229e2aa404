//! The argon2id hash time the login ceiling is derived from, as the release `hash_time`
//! example measures it.

use std::process::{Command, Stdio};

use crate::{Result, display_command, target_dir};

/// Runs the release `hash_time` example and returns its mean hash time in milliseconds.
pub(super) fn measure_hash_ms() -> Result<f64> {
    let mut command = Command::new(target_dir().join("release/examples/hash_time"));
    command.stderr(Stdio::inherit());
    let line = display_command(&command);
    println!("$ {line}");
    let output = command
        .output()
        .map_err(|e| format!("could not start `{line}`: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    if !output.status.success() {
        return Err(format!("`{line}` failed ({})", output.status));
    }
    parse_hash_ms(&stdout)
}

/// Reads the number before " ms per hash" in the example's output.
fn parse_hash_ms(output: &str) -> Result<f64> {
    output
        .lines()
        .find_map(|line| line.split_once(" ms per hash"))
        .and_then(|(before, _)| before.split_whitespace().last())
        .and_then(|number| number.parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms > 0.0)
        .ok_or_else(|| format!("no `<ms> ms per hash` in the hash_time output: {output:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_hash_time() {
        let output = "argon2id m=19456 t=2 p=1: 24.87 ms per hash\n";
        assert!((parse_hash_ms(output).unwrap() - 24.87).abs() < 1e-12);
        assert!(parse_hash_ms("nothing here").is_err());
    }
}
