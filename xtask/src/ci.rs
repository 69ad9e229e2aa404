//! `cargo xtask ci`: the checks CI runs, in order, stopping at the first failure.

use crate::{Result, cargo, display_command};

/// One check: a short name for messages and the arguments given to cargo.
struct Step {
    name: &'static str,
    args: &'static [&'static str],
}

/// The checks, cheapest first, so that a formatting slip fails in seconds.
const STEPS: &[Step] = &[
    Step {
        name: "fmt",
        args: &["fmt", "--all", "--", "--check"],
    },
    Step {
        name: "clippy",
        args: &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    },
    Step {
        name: "test",
        args: &["test", "--workspace"],
    },
];

/// Runs every step in order and reports the first that fails.
pub(crate) fn run() -> Result {
    for (index, step) in STEPS.iter().enumerate() {
        let mut command = cargo();
        command.args(step.args);
        let line = display_command(&command);
        println!("==> [{}/{}] {}: {line}", index + 1, STEPS.len(), step.name);
        let status = command
            .status()
            .map_err(|e| format!("ci step `{}` could not start `{line}`: {e}", step.name))?;
        if !status.success() {
            return Err(format!(
                "ci step `{}` failed: `{line}` ({status})",
                step.name
            ));
        }
    }
    println!("==> ci: all {} steps passed", STEPS.len());
    Ok(())
}
