//! The `warden-api` binary refuses to start on a bad configuration: non-zero exit and one line
//! on stderr naming the setting.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const GOOD_SECRET: &str = "s0m3-r4nd0m-l00k1ng-v4lu3-f0r-t3sts-Zq";

/// Runs the server with only these `WARDEN_*` variables, in a fresh directory.
fn run(vars: &[(&str, &str)]) -> (Option<i32>, String) {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("warden-startup-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden-api"));
    for (k, _) in std::env::vars() {
        if k.starts_with("WARDEN_") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(&dir)
        .env("WARDEN_SERVER__BIND", "127.0.0.1:0")
        .env("RUST_LOG", "error")
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let _ = std::fs::remove_dir_all(&dir);
            return (
                status.code(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            );
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            let _ = std::fs::remove_dir_all(&dir);
            return (None, "still running".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn each_refusal_exits_non_zero_with_one_line_naming_the_setting() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("WARDEN_JWT__SECRTE", "x")], "jwt.secrte"),
        (&[("WARDEN_PROFILE", "staging")], "profile"),
        (
            &[("WARDEN_SERVER__MAX_BODY_BYTES", "lots")],
            "server.max_body_bytes",
        ),
        (&[("WARDEN_PROFILE", "production")], "jwt.secret"),
        (&[("WARDEN_JWT__SECRET", "short")], "jwt.secret"),
        (
            &[
                ("WARDEN_PROFILE", "production"),
                (
                    "WARDEN_JWT__SECRET",
                    "change-me-change-me-change-me-change-me",
                ),
            ],
            "jwt.secret",
        ),
        (
            &[
                ("WARDEN_PROFILE", "production"),
                (
                    "WARDEN_JWT__SECRET",
                    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                ),
            ],
            "jwt.secret",
        ),
        (
            &[
                ("WARDEN_PROFILE", "production"),
                ("WARDEN_JWT__ALGORITHM", "EdDSA"),
            ],
            "jwt.private_key_file",
        ),
        (
            &[
                ("WARDEN_JWT__ALGORITHM", "EdDSA"),
                ("WARDEN_JWT__PRIVATE_KEY_FILE", "/nonexistent/key.pem"),
            ],
            "jwt.private_key_file",
        ),
        (
            &[
                ("WARDEN_PROFILE", "production"),
                ("WARDEN_JWT__SECRET", GOOD_SECRET),
                ("WARDEN_CORS__ALLOWED_ORIGINS", "[\"*\"]"),
            ],
            "cors.allowed_origins",
        ),
        (
            &[(
                "WARDEN_DATABASE__URL",
                "sqlite:///nonexistent-dir/sub/w.db?mode=rwc",
            )],
            "database.url",
        ),
        (
            &[("WARDEN_DATABASE__URL", "postgres://nobody@127.0.0.1:1/none")],
            "database.url",
        ),
        (&[("WARDEN_CONFIG", "missing.toml")], "WARDEN_CONFIG"),
    ];
    assert_each_refused(cases);
}

/// Cases of variables and the setting each must be refused for.
type Cases<'a> = &'a [(&'a [(&'a str, &'a str)], &'a str)];

/// Each case exits non-zero with one line naming its setting, echoing no secret or password.
fn assert_each_refused(cases: Cases<'_>) {
    for (vars, key) in cases {
        let (code, stderr) = run(vars);
        assert!(
            code.is_some_and(|c| c != 0),
            "{vars:?}: exit {code:?}, stderr {stderr}"
        );
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{vars:?}: one line, got {stderr:?}");
        assert!(
            lines[0].starts_with(&format!("warden-api: {key}")),
            "{vars:?}: expected the line to name {key}, got {:?}",
            lines[0]
        );
        assert!(
            !stderr.contains("Pw7") && !stderr.contains("enc:oded"),
            "{vars:?}: a password is echoed: {stderr}"
        );
        for (name, value) in *vars {
            if name.ends_with("SECRET") && value.len() >= 32 {
                assert!(
                    !stderr.contains(value),
                    "{vars:?}: a secret value is echoed"
                );
            }
        }
    }
}

#[test]
fn weak_secrets_in_production_and_url_passwords_are_refused_without_echo() {
    let cases: Cases<'_> = &[
        // The four secrets production once accepted (issue 11).
        (
            &[
                ("WARDEN_PROFILE", "production"),
                (
                    "WARDEN_JWT__SECRET",
                    "a-string-secret-at-least-256-bits-long",
                ),
            ],
            "jwt.secret",
        ),
        (
            &[
                ("WARDEN_PROFILE", "production"),
                ("WARDEN_JWT__SECRET", "abcdefghijklmnopqrstuvwxyz012345"),
            ],
            "jwt.secret",
        ),
        (
            &[
                ("WARDEN_PROFILE", "production"),
                ("WARDEN_JWT__SECRET", "0123456789abcdef0123456789abcdef"),
            ],
            "jwt.secret",
        ),
        (
            &[
                ("WARDEN_PROFILE", "production"),
                ("WARDEN_JWT__SECRET", "Xk9#mQ2vXk9#mQ2vXk9#mQ2vXk9#mQ2v"),
            ],
            "jwt.secret",
        ),
        // Passwords in every spelling a URL allows, to a database that is not there.
        (
            &[(
                "WARDEN_DATABASE__URL",
                "postgres://app:Pw7-first@half@127.0.0.1:1/none",
            )],
            "database.url",
        ),
        (
            &[(
                "WARDEN_DATABASE__URL",
                "postgres://app@127.0.0.1:1/none?sslmode=disable&PassWord=Pw7-query",
            )],
            "database.url",
        ),
        (
            &[(
                "WARDEN_DATABASE__URL",
                "postgres://app:Pw7%40enc%3Aoded@127.0.0.1:1/none",
            )],
            "database.url",
        ),
        (
            &[(
                "WARDEN_REDIS__URL",
                "redis://:Pw7-redis@127.0.0.1:notaport/0",
            )],
            "redis.url",
        ),
    ];
    assert_each_refused(cases);
}

/// A start that logs a warning (a weak secret is one in development) and then stops (no
/// database answers), with these variables added.
const WARN_THEN_STOP: &[(&str, &str)] = &[
    ("RUST_LOG", "warn"),
    ("WARDEN_JWT__SECRET", "abcdefghijklmnopqrstuvwxyz012345"),
    ("WARDEN_DATABASE__URL", "postgres://nobody@127.0.0.1:1/none"),
];

#[test]
fn logs_to_a_pipe_carry_no_colours_and_no_secret() {
    let (code, stderr) = run(WARN_THEN_STOP);
    assert!(code.is_some_and(|c| c != 0), "{stderr}");
    assert!(
        stderr.contains("jwt.secret"),
        "the warning is logged: {stderr}"
    );
    assert!(
        !stderr.contains('\x1b'),
        "ANSI escapes in a pipe: {stderr:?}"
    );
    assert!(
        !stderr.contains("abcdefghijklmnopqrstuvwxyz012345"),
        "{stderr}"
    );
}

/// Runs the server under `script`, which gives it a terminal, and returns what it wrote.
fn run_on_a_terminal(no_color: Option<&str>) -> String {
    let dir = std::env::temp_dir().join(format!("warden-tty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new("script");
    cmd.args(["-qec", env!("CARGO_BIN_EXE_warden-api"), "/dev/null"]);
    for (k, _) in std::env::vars() {
        if k.starts_with("WARDEN_") || k == "NO_COLOR" {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(&dir)
        .env("WARDEN_SERVER__BIND", "127.0.0.1:0")
        .envs(WARN_THEN_STOP.iter().copied())
        .stdin(Stdio::null());
    if let Some(value) = no_color {
        cmd.env("NO_COLOR", value);
    }
    let out = cmd
        .output()
        .expect("util-linux `script` runs (Debian package bsdutils)");
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_terminal_gets_colours_unless_no_color_is_set() {
    let coloured = run_on_a_terminal(None);
    assert!(coloured.contains("jwt.secret"), "{coloured:?}");
    assert!(
        coloured.contains('\x1b'),
        "a terminal gets colours: {coloured:?}"
    );
    for no_color in ["1", "true"] {
        let plain = run_on_a_terminal(Some(no_color));
        assert!(plain.contains("jwt.secret"), "{plain:?}");
        assert!(!plain.contains('\x1b'), "NO_COLOR={no_color}: {plain:?}");
    }
}
