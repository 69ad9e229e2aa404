//! The `warden` binary end to end: each test runs it in a fresh directory with its own database
//! file, a test-only hashing cost and no inherited `WARDEN_*` variables.

use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// A password the default policy accepts.
const GOOD_PASSWORD: &str = "correct-horse-battery-staple-42";
/// An HS256 secret the settings accept.
const GOOD_SECRET: &str = "q3V8xZ1mR7tK2pW9yB4nL6cF0hJ5sD8gA1bC2dE3";

/// A working directory of its own, removed when the test ends.
struct Sandbox {
    dir: PathBuf,
}

impl Sandbox {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    /// A sandbox whose database exists, as the server's would.
    fn migrated() -> Self {
        let sb = Self::new();
        sb.run(&["migrate"]).ok();
        sb
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Runs `warden` with the arguments, extra variables and stdin given.
    fn run_with(&self, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
        cmd.args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("WARDEN_") {
                cmd.env_remove(&key);
            }
        }
        cmd.env_remove("RUST_LOG")
            .env(
                "WARDEN_DATABASE__URL",
                format!("sqlite://{}?mode=rwc", self.path("w.db").display()),
            )
            .env("WARDEN_ARGON2__MEMORY_KIB", "1024")
            .env("WARDEN_ARGON2__ITERATIONS", "1");
        for (key, value) in env {
            cmd.env(key, value);
        }
        let mut child = cmd.spawn().unwrap();
        // A command that fails early may exit before reading stdin; that is no test failure.
        match child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
            Err(e) if e.kind() != ErrorKind::BrokenPipe => panic!("cannot write stdin: {e}"),
            _ => {}
        }
        Run::from(child.wait_with_output().unwrap())
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[], "")
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.run_with(args, env, "")
    }

    /// Creates a user through `--password-stdin` and returns its id.
    fn create(&self, email: &str, role: &str) -> String {
        let run = self.run_with(
            &[
                "user",
                "create",
                "--email",
                email,
                "--role",
                role,
                "--password-stdin",
            ],
            &[],
            &format!("{GOOD_PASSWORD}\n"),
        );
        run.ok().stdout.trim().to_owned()
    }

    /// `user list --json`, parsed.
    fn users(&self) -> Vec<Value> {
        let run = self.run(&["user", "list", "--json"]).ok();
        serde_json::from_str::<Value>(&run.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    /// The listed user with this email (compared case-insensitively).
    fn user(&self, email: &str) -> Option<Value> {
        self.users()
            .into_iter()
            .find(|u| u["email"].as_str().unwrap().eq_ignore_ascii_case(email))
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What one run printed and how it ended.
#[derive(Debug)]
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            success: o.status.success(),
            stdout: String::from_utf8(o.stdout).unwrap(),
            stderr: String::from_utf8(o.stderr).unwrap(),
        }
    }
}

impl Run {
    /// Asserts success with nothing on stderr.
    #[track_caller]
    fn ok(self) -> Self {
        assert!(self.success, "expected success: {self:?}");
        assert!(self.stderr.is_empty(), "expected a quiet stderr: {self:?}");
        self
    }

    /// Asserts failure with exactly one line, `warden: <reason>`, on stderr; returns the reason.
    #[track_caller]
    fn fails(self) -> String {
        assert!(!self.success, "expected failure: {self:?}");
        assert_eq!(
            self.stderr.lines().count(),
            1,
            "expected one line: {self:?}"
        );
        assert!(self.stderr.ends_with('\n'), "{self:?}");
        self.stderr
            .trim_end()
            .strip_prefix("warden: ")
            .unwrap_or_else(|| panic!("expected `warden: `: {self:?}"))
            .to_owned()
    }
}

#[test]
fn migrate_applies_the_migrations() {
    let sb = Sandbox::migrated();
    let run = sb.run(&["migrate"]).ok();
    assert_eq!(run.stdout.trim(), "migrations applied");
    assert!(sb.path("w.db").is_file());
    // A second run has nothing left to do and still succeeds.
    sb.run(&["migrate"]).ok();
}

#[test]
fn a_created_user_is_listed_with_the_api_fields_and_never_a_hash() {
    let sb = Sandbox::migrated();
    let created = sb
        .run_with(
            &[
                "user",
                "create",
                "--email",
                "Ann@Example.com",
                "--role",
                "service",
                "--display-name",
                "Ann",
                "--password-stdin",
            ],
            &[],
            &format!("{GOOD_PASSWORD}\nignored second line\n"),
        )
        .ok();
    let id = created.stdout.trim();
    assert_eq!(id.len(), 36, "{created:?}");

    let listed = sb.run(&["user", "list", "--json"]).ok();
    let users: Value = serde_json::from_str(&listed.stdout).unwrap();
    let users = users.as_array().unwrap();
    assert_eq!(users.len(), 1);
    let user = users[0].as_object().unwrap();
    let mut keys: Vec<&str> = user.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_at",
            "disabled",
            "display_name",
            "email",
            "email_verified",
            "email_verified_at",
            "id",
            "mfa_enabled",
            "role",
            "updated_at"
        ]
    );
    assert_eq!(user["id"], id);
    assert_eq!(user["email"], "Ann@Example.com");
    assert_eq!(user["display_name"], "Ann");
    assert_eq!(user["role"], "service");
    assert_eq!(user["disabled"], false);
    let created_at = user["created_at"].as_str().unwrap();
    assert!(
        created_at.contains('T') && created_at.ends_with('Z'),
        "{created_at}"
    );

    let table = sb.run(&["user", "list"]).ok();
    assert!(table.stdout.starts_with("ID"), "{table:?}");
    assert!(table.stdout.contains(id) && table.stdout.contains("Ann@Example.com"));

    for out in [&created.stdout, &listed.stdout, &table.stdout] {
        let lower = out.to_lowercase();
        assert!(
            !lower.contains("password") && !lower.contains("hash") && !lower.contains("argon2")
        );
        assert!(!out.contains(GOOD_PASSWORD));
    }
}

#[test]
fn a_second_account_with_the_same_email_in_any_case_is_refused() {
    let sb = Sandbox::migrated();
    sb.create("Ann@Example.com", "user");
    let run = sb.run_with(
        &[
            "user",
            "create",
            "--email",
            "ann@EXAMPLE.com",
            "--role",
            "user",
            "--password-stdin",
        ],
        &[],
        &format!("{GOOD_PASSWORD}\n"),
    );
    assert_eq!(run.fails(), "a user with this email already exists");
    assert_eq!(sb.users().len(), 1);
}

#[test]
fn a_weak_password_is_refused_with_the_reason() {
    let sb = Sandbox::migrated();
    let run = sb.run_with(
        &[
            "user",
            "create",
            "--email",
            "bob@example.com",
            "--role",
            "user",
            "--password-stdin",
        ],
        &[],
        "short\n",
    );
    let reason = run.fails();
    assert!(reason.contains("at least 12 characters"), "{reason}");
    assert!(
        !reason.contains("short"),
        "the password is never echoed: {reason}"
    );
    assert!(sb.users().is_empty());
}

#[test]
fn a_password_cannot_be_given_on_the_command_line() {
    let sb = Sandbox::migrated();
    let base = [
        "user",
        "create",
        "--email",
        "bob@example.com",
        "--role",
        "user",
    ];
    let joined = format!("--password={GOOD_PASSWORD}");
    let stdin_joined = format!("--password-stdin={GOOD_PASSWORD}");
    for extra in [
        &["--password", GOOD_PASSWORD][..],
        &[joined.as_str()][..],
        &[stdin_joined.as_str()][..],
        &["--password-stdin", GOOD_PASSWORD][..],
        &[GOOD_PASSWORD][..],
    ] {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let reason = sb
            .run_with(&args, &[], &format!("{GOOD_PASSWORD}\n"))
            .fails();
        assert!(reason.contains("unexpected"), "{reason}");
        assert!(
            !reason.contains(GOOD_PASSWORD),
            "never quoted back: {reason}"
        );
    }
    // Without --password-stdin and with no terminal, it asks for the flag instead of reading.
    let reason = sb
        .run_with(&base, &[], &format!("{GOOD_PASSWORD}\n"))
        .fails();
    assert!(reason.contains("--password-stdin"), "{reason}");
    // And empty stdin is no password at all.
    let with_flag: Vec<&str> = base.iter().copied().chain(["--password-stdin"]).collect();
    let reason = sb.run_with(&with_flag, &[], "").fails();
    assert!(reason.contains("stdin is empty"), "{reason}");
    assert!(sb.users().is_empty());
}

#[test]
fn a_bad_role_is_one_line() {
    let sb = Sandbox::migrated();
    let reason = sb
        .run_with(
            &[
                "user",
                "create",
                "--email",
                "bob@example.com",
                "--role",
                "root",
                "--password-stdin",
            ],
            &[],
            &format!("{GOOD_PASSWORD}\n"),
        )
        .fails();
    assert!(
        reason.contains("'root' is not a role (admin, service or user)"),
        "{reason}"
    );
    sb.create("bob@example.com", "user");
    let reason = sb
        .run(&[
            "user",
            "set-role",
            "--email",
            "bob@example.com",
            "--role",
            "Admin",
        ])
        .fails();
    assert!(reason.contains("is not a role"), "{reason}");
    assert_eq!(sb.user("bob@example.com").unwrap()["role"], "user");
}

#[test]
fn role_and_enabled_changes_show_in_the_list() {
    let sb = Sandbox::migrated();
    sb.create("root@example.com", "admin");
    sb.create("bob@example.com", "user");

    let run = sb
        .run(&[
            "user",
            "set-role",
            "--email",
            "BOB@example.com",
            "--role",
            "service",
        ])
        .ok();
    assert!(run.stdout.contains("service"), "{run:?}");
    assert_eq!(sb.user("bob@example.com").unwrap()["role"], "service");

    sb.run(&["user", "disable", "--email", "bob@example.com"])
        .ok();
    assert_eq!(sb.user("bob@example.com").unwrap()["disabled"], true);

    sb.run(&["user", "enable", "--email", "bob@example.com"])
        .ok();
    let bob = sb.user("bob@example.com").unwrap();
    assert_eq!(bob["disabled"], false);
    assert_eq!(bob["role"], "service");
}

#[test]
fn the_last_enabled_admin_is_kept_until_another_exists() {
    let sb = Sandbox::migrated();
    sb.create("a@example.com", "admin");
    let refusal = "refused: it would leave no enabled admin";
    for args in [
        &[
            "user",
            "set-role",
            "--email",
            "a@example.com",
            "--role",
            "user",
        ][..],
        &["user", "disable", "--email", "a@example.com"][..],
        &["user", "delete", "--email", "a@example.com"][..],
    ] {
        assert_eq!(sb.run(args).fails(), refusal, "{args:?}");
        let a = sb.user("a@example.com").expect("still there");
        assert_eq!(a["role"], "admin");
        assert_eq!(a["disabled"], false);
    }

    // With a second admin, the first may be demoted; the second is then the last one.
    sb.create("b@example.com", "admin");
    sb.run(&[
        "user",
        "set-role",
        "--email",
        "a@example.com",
        "--role",
        "user",
    ])
    .ok();
    assert_eq!(sb.user("a@example.com").unwrap()["role"], "user");
    assert_eq!(
        sb.run(&["user", "delete", "--email", "b@example.com"])
            .fails(),
        refusal
    );

    // A third admin lets the second be disabled, and then the third is the last enabled one.
    sb.create("c@example.com", "admin");
    sb.run(&["user", "disable", "--email", "b@example.com"])
        .ok();
    assert_eq!(
        sb.run(&["user", "delete", "--email", "c@example.com"])
            .fails(),
        refusal
    );
    sb.run(&["user", "enable", "--email", "b@example.com"]).ok();
    sb.run(&["user", "delete", "--email", "c@example.com"]).ok();
    assert!(sb.user("c@example.com").is_none());
}

#[test]
fn delete_removes_the_account() {
    let sb = Sandbox::migrated();
    sb.create("root@example.com", "admin");
    sb.create("bob@example.com", "user");
    sb.run(&["user", "delete", "--email", "bob@example.com"])
        .ok();
    assert!(sb.user("bob@example.com").is_none());
    assert_eq!(sb.users().len(), 1);
    assert_eq!(
        sb.run(&["user", "delete", "--email", "bob@example.com"])
            .fails(),
        "no user with email bob@example.com"
    );
}

#[test]
fn an_unknown_or_malformed_email_is_one_line() {
    let sb = Sandbox::migrated();
    for args in [
        &[
            "user",
            "set-role",
            "--email",
            "nobody@example.com",
            "--role",
            "admin",
        ][..],
        &["user", "disable", "--email", "nobody@example.com"][..],
        &["user", "enable", "--email", "nobody@example.com"][..],
        &["user", "delete", "--email", "nobody@example.com"][..],
    ] {
        assert_eq!(
            sb.run(args).fails(),
            "no user with email nobody@example.com",
            "{args:?}"
        );
    }
    let reason = sb.run(&["user", "delete", "--email", "nobody"]).fails();
    assert!(reason.contains("not a valid email address"), "{reason}");
}

#[test]
fn user_commands_stop_at_a_bad_configuration() {
    let sb = Sandbox::new();
    let reason = sb
        .run_with(
            &[
                "user",
                "create",
                "--email",
                "bob@example.com",
                "--role",
                "user",
                "--password-stdin",
            ],
            &[("WARDEN_JWT__SECRTE", "x")],
            &format!("{GOOD_PASSWORD}\n"),
        )
        .fails();
    assert!(reason.starts_with("jwt.secrte"), "{reason}");
    assert!(!sb.path("w.db").exists(), "nothing was opened");
}

#[test]
fn keys_generate_prints_an_hs256_secret_alone_that_the_settings_accept() {
    let sb = Sandbox::migrated();
    // No configuration is read: a broken one does not matter.
    let run = sb
        .run_env(&["keys", "generate"], &[("WARDEN_JWT__SECRTE", "x")])
        .ok();
    assert_eq!(run.stdout.lines().count(), 1, "{run:?}");
    let secret = run.stdout.trim_end_matches('\n');
    assert!(
        secret.len() >= 43 && !secret.contains(char::is_whitespace),
        "{secret}"
    );
    let again = sb.run(&["keys", "generate", "--algorithm", "hs256"]).ok();
    assert_ne!(again.stdout, run.stdout);
    sb.run_env(
        &["config", "check"],
        &[
            ("WARDEN_PROFILE", "production"),
            ("WARDEN_ARGON2__MEMORY_KIB", "19456"),
            ("WARDEN_ARGON2__ITERATIONS", "2"),
            ("WARDEN_JWT__SECRET", secret),
        ],
    )
    .ok();
}

#[test]
fn keys_generate_eddsa_prints_a_key_pair_that_loads_back() {
    let sb = Sandbox::migrated();
    let run = sb.run(&["keys", "generate", "--algorithm", "eddsa"]).ok();
    let out = &run.stdout;
    let private_end = "-----END PRIVATE KEY-----\n";
    assert!(out.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{out}");
    let split = out.find(private_end).expect("a private key") + private_end.len();
    let (private, public) = out.split_at(split);
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{out}");
    assert!(public.ends_with("-----END PUBLIC KEY-----\n"), "{out}");

    std::fs::write(sb.path("private.pem"), private).unwrap();
    std::fs::write(sb.path("public.pem"), public).unwrap();
    let private_file = sb.path("private.pem").display().to_string();
    let public_file = sb.path("public.pem").display().to_string();
    let public_files = format!("[\"{public_file}\"]");
    let checked = sb
        .run_env(
            &["config", "check"],
            &[
                ("WARDEN_PROFILE", "production"),
                ("WARDEN_ARGON2__MEMORY_KIB", "19456"),
                ("WARDEN_ARGON2__ITERATIONS", "2"),
                ("WARDEN_JWT__ALGORITHM", "EdDSA"),
                ("WARDEN_JWT__PRIVATE_KEY_FILE", &private_file),
                ("WARDEN_JWT__PUBLIC_KEY_FILES", &public_files),
            ],
        )
        .ok();
    assert!(
        checked.stdout.contains("algorithm = \"EdDSA\""),
        "{checked:?}"
    );
    assert!(checked.stdout.contains(&private_file), "{checked:?}");
    assert!(checked.stdout.contains(&public_file), "{checked:?}");
    assert!(!checked.stdout.contains("BEGIN"), "{checked:?}");

    // The key files are loaded as the server would: a public key is no signing key.
    let reason = sb
        .run_env(
            &["config", "check"],
            &[
                ("WARDEN_JWT__ALGORITHM", "EdDSA"),
                ("WARDEN_JWT__PRIVATE_KEY_FILE", &public_file),
            ],
        )
        .fails();
    assert!(reason.starts_with("jwt.private_key_file"), "{reason}");
}

#[test]
fn config_check_prints_the_settings_with_the_secret_redacted() {
    let sb = Sandbox::migrated();
    let run = sb
        .run_env(&["config", "check"], &[("WARDEN_JWT__SECRET", GOOD_SECRET)])
        .ok();
    assert!(run.stdout.contains("secret = \"[redacted]\""), "{run:?}");
    assert!(run.stdout.contains("[jwt]") && run.stdout.contains("profile = \"development\""));
    assert!(!run.stdout.contains(GOOD_SECRET));
    // Unset keys are omitted.
    let unset = sb.run(&["config", "check"]).ok();
    assert!(!unset.stdout.contains("secret ="), "{unset:?}");
}

#[test]
fn config_check_names_a_misspelt_key() {
    let sb = Sandbox::migrated();
    let reason = sb
        .run_env(&["config", "check"], &[("WARDEN_JWT__SECRTE", "x")])
        .fails();
    assert!(reason.contains("jwt.secrte"), "{reason}");
}

#[test]
fn admin_commands_refuse_to_create_a_database_and_migrate_creates_it() {
    let sb = Sandbox::new();
    for args in [
        &["user", "list"][..],
        &["apikey", "list"],
        &["sessions", "purge"],
    ] {
        let reason = sb.run(args).fails();
        assert!(
            reason.starts_with("database.url: there is no database at ")
                && reason.contains("w.db")
                && reason.contains("warden migrate"),
            "{args:?}: {reason}"
        );
        assert!(!sb.path("w.db").exists(), "{args:?} made a file");
    }
    sb.run(&["migrate"]).ok();
    assert!(sb.path("w.db").exists());
    sb.run(&["user", "list"]).ok();
}

#[test]
fn config_example_prints_a_file_that_config_check_takes() {
    let sb = Sandbox::migrated();
    let example = sb.run(&["config", "example"]).ok();
    assert!(example.stdout.contains("[server]") && example.stdout.contains("# secret = "));
    let path = std::env::temp_dir().join(format!("warden-example-{}.toml", std::process::id()));
    std::fs::write(&path, &example.stdout).unwrap();
    let checked = sb
        .run_env(
            &["config", "check"],
            &[("WARDEN_CONFIG", path.to_str().unwrap())],
        )
        .ok();
    std::fs::remove_file(&path).unwrap();
    assert!(
        checked.stdout.contains("max_connections = 1024"),
        "{checked:?}"
    );
}

#[test]
fn config_check_applies_the_api_s_own_rules() {
    let sb = Sandbox::migrated();
    let reason = sb
        .run_env(
            &["config", "check"],
            &[("WARDEN_SERVER__HEADER_TIMEOUT_SECONDS", "0")],
        )
        .fails();
    assert!(
        reason.starts_with("server.header_timeout_seconds"),
        "{reason}"
    );
}

#[test]
fn admin_commands_in_production_need_no_signing_key_and_config_check_still_does() {
    let sb = Sandbox::new();
    let production = [
        ("WARDEN_PROFILE", "production"),
        ("WARDEN_ARGON2__MEMORY_KIB", "19456"),
        ("WARDEN_ARGON2__ITERATIONS", "2"),
    ];
    sb.run_env(&["migrate"], &production).ok();
    sb.run_with(
        &[
            "user",
            "create",
            "--email",
            "root@example.com",
            "--role",
            "admin",
            "--password-stdin",
        ],
        &production,
        &format!("{GOOD_PASSWORD}\n"),
    )
    .ok();
    let listed = sb.run_env(&["user", "list"], &production).ok();
    assert!(listed.stdout.contains("root@example.com"), "{listed:?}");
    let reason = sb.run_env(&["config", "check"], &production).fails();
    assert!(reason.starts_with("jwt.secret"), "{reason}");
}

#[test]
fn config_check_refuses_production_without_a_secret() {
    let sb = Sandbox::migrated();
    let reason = sb
        .run_env(&["config", "check"], &[("WARDEN_PROFILE", "production")])
        .fails();
    assert!(reason.contains("jwt.secret"), "{reason}");
}

#[test]
fn config_check_never_prints_a_weak_secret_it_refuses() {
    let sb = Sandbox::migrated();
    let weak = "change-me-change-me-change-me-change-me";
    let run = sb.run_env(
        &["config", "check"],
        &[
            ("WARDEN_PROFILE", "production"),
            ("WARDEN_JWT__SECRET", weak),
        ],
    );
    assert!(
        !run.stdout.contains(weak) && !run.stderr.contains(weak),
        "{run:?}"
    );
    assert!(run.fails().starts_with("jwt.secret"));
}

#[test]
fn config_check_warns_of_a_weak_secret_in_development_without_printing_it() {
    let sb = Sandbox::migrated();
    let weak = "a-string-secret-at-least-256-bits-long";
    let run = sb.run_env(&["config", "check"], &[("WARDEN_JWT__SECRET", weak)]);
    assert!(run.success, "{run:?}");
    assert!(
        run.stderr
            .starts_with("warden: warning: jwt.secret: is a published example"),
        "{run:?}"
    );
    assert!(
        !run.stdout.contains(weak) && !run.stderr.contains(weak),
        "{run:?}"
    );
}

#[test]
fn config_check_hides_database_and_redis_passwords_in_every_spelling() {
    let sb = Sandbox::migrated();
    for (key, url) in [
        ("WARDEN_DATABASE__URL", "postgres://app:Pw7-raw@at@db/w"),
        ("WARDEN_DATABASE__URL", "postgres://app:Pw7%40enc@db/w"),
        (
            "WARDEN_DATABASE__URL",
            "postgres://app@db/w?sslmode=require&password=Pw7-q",
        ),
        (
            "WARDEN_DATABASE__URL",
            "postgres://app@db/w?SSLPassword=Pw7-q",
        ),
        (
            "WARDEN_DATABASE__URL",
            "postgres://app@db/w?pass%77ord=Pw7-q",
        ),
        ("WARDEN_REDIS__URL", "redis://:Pw7-r@cache:6379/0"),
        ("WARDEN_REDIS__URL", "redis://cache:6379/0?password=Pw7-r"),
    ] {
        let run = sb.run_env(
            &["config", "check"],
            &[(key, url), ("WARDEN_JWT__SECRET", GOOD_SECRET)],
        );
        assert!(run.success, "{url}: {run:?}");
        assert!(
            !run.stdout.contains("Pw7") && !run.stderr.contains("Pw7"),
            "{url}: {run:?}"
        );
        assert!(run.stdout.contains("[redacted]"), "{url}: {run:?}");
    }
}

#[test]
fn a_toml_syntax_error_names_the_key_and_position_but_not_the_secret() {
    let sb = Sandbox::migrated();
    let file = sb.path("warden.toml");
    std::fs::write(
        &file,
        "[database]\nmax_connections = 4\n[jwt]\nsecret = \"Pw7-unterminated-and-secret\n",
    )
    .unwrap();
    let file = file.display().to_string();
    let run = sb.run_env(&["config", "check"], &[("WARDEN_CONFIG", &file)]);
    assert!(
        !run.stdout.contains("Pw7") && !run.stderr.contains("Pw7"),
        "{run:?}"
    );
    let reason = run.fails();
    assert!(
        reason.contains("line 4") && reason.contains("`jwt.secret`"),
        "{reason}"
    );
}

#[cfg(unix)]
#[test]
fn migrate_creates_the_sqlite_file_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    sb.run(&["migrate"]).ok();
    for name in ["w.db", "w.db-wal", "w.db-shm"] {
        let path = sb.path(name);
        if name == "w.db" || path.exists() {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name}: {mode:o}");
        }
    }
}

#[test]
fn apikey_create_prints_the_key_alone_and_list_never_shows_it() {
    let sb = Sandbox::migrated();
    sb.create("bot@example.com", "service");
    let made = sb
        .run(&[
            "apikey",
            "create",
            "--email",
            "bot@example.com",
            "--name",
            "deploy",
            "--expires-in-days",
            "30",
        ])
        .ok();
    let key = made.stdout.trim().to_owned();
    assert_eq!(made.stdout.lines().count(), 1, "{made:?}");
    assert!(key.starts_with("wdn_") && key.len() > 40, "{key}");

    let list = sb.run(&["apikey", "list", "--json"]).ok();
    let listed: Value = serde_json::from_str(&list.stdout).unwrap();
    let entry = listed[0].as_object().unwrap();
    let mut fields: Vec<&str> = entry.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "created_at",
            "expires_at",
            "id",
            "last_used_at",
            "name",
            "prefix"
        ]
    );
    assert!(key.starts_with(entry["prefix"].as_str().unwrap()));
    assert!(!list.stdout.contains(&key));
    let table = sb
        .run(&["apikey", "list", "--email", "bot@example.com"])
        .ok();
    assert!(
        table.stdout.contains("deploy") && !table.stdout.contains(&key),
        "{table:?}"
    );

    let id = entry["id"].as_str().unwrap();
    sb.run(&["apikey", "revoke", id]).ok();
    let after: Value =
        serde_json::from_str(&sb.run(&["apikey", "list", "--json"]).ok().stdout).unwrap();
    assert_eq!(after, serde_json::json!([]), "a revoked key is not listed");
    let reason = sb.run(&["apikey", "revoke", id]).fails();
    assert!(reason.contains("no live API key"), "{reason}");
}

#[test]
fn client_commands_register_show_change_and_remove_a_client() {
    let sb = Sandbox::migrated();
    let made = sb
        .run(&[
            "client",
            "create",
            "--name",
            "Backend",
            "--grant",
            "client_credentials",
            "--scope",
            "read",
            "--json",
        ])
        .ok();
    let made: Value = serde_json::from_str(&made.stdout).unwrap();
    let id = made["client_id"].as_str().unwrap().to_owned();
    let secret = made["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(made["public"], false);
    assert_eq!(
        made["grant_types"],
        serde_json::json!(["client_credentials"])
    );
    assert_eq!(made["audience"], Value::Null);

    let listed: Value =
        serde_json::from_str(&sb.run(&["client", "list", "--json"]).ok().stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert!(listed[0].get("client_secret").is_none(), "{listed}");
    let table = sb.run(&["client", "list"]).ok();
    assert!(
        table.stdout.contains(&id) && table.stdout.contains("confidential"),
        "{table:?}"
    );
    let shown = sb.run(&["client", "show", "--id", &id]).ok();
    assert!(
        shown.stdout.starts_with(&format!("client_id: {id}\n")),
        "{shown:?}"
    );
    for run in [&table, &shown] {
        assert!(!run.stdout.contains(&secret), "{run:?}");
    }

    // Made public it loses its secret (and client_credentials, which a public client cannot use).
    let public = sb
        .run(&[
            "client", "update", "--id", &id, "--public", "true", "--grant", "password",
        ])
        .ok();
    assert_eq!(public.stdout, format!("client_id: {id}\n"));
    // Made confidential again it gets a new secret, shown this once.
    let back = sb.run(&["client", "update", "--id", &id, "--public", "false"]);
    assert!(
        back.success && back.stderr.contains("shown this once"),
        "{back:?}"
    );
    let new_secret = back
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap();
    assert!(!new_secret.is_empty() && new_secret != secret, "{back:?}");

    let reason = sb
        .run(&[
            "client",
            "create",
            "--name",
            "Web",
            "--public",
            "--grant",
            "client_credentials",
        ])
        .fails();
    assert_eq!(reason, "a public client cannot use client_credentials");
    let reason = sb
        .run(&["client", "create", "--name", "Web", "--grant", "implicit"])
        .fails();
    assert!(
        reason.contains("authorization_code") && reason.contains("password"),
        "{reason}"
    );

    assert_eq!(
        sb.run(&["client", "delete", "--id", &id]).ok().stdout,
        format!("deleted {id}\n")
    );
    for command in ["show", "delete"] {
        let reason = sb.run(&["client", command, "--id", &id]).fails();
        assert_eq!(reason, format!("no client with id {id}"));
    }
}

#[test]
fn apikey_create_refuses_bad_expiries_and_unknown_owners_in_one_line() {
    let sb = Sandbox::migrated();
    sb.create("bot@example.com", "user");
    for args in [
        &[
            "apikey",
            "create",
            "--email",
            "bot@example.com",
            "--name",
            "x",
            "--expires-in-days",
            "0",
        ][..],
        &[
            "apikey",
            "create",
            "--email",
            "bot@example.com",
            "--name",
            "x",
            "--expires-in-days",
            "3651",
        ][..],
        &[
            "apikey",
            "create",
            "--email",
            "nobody@example.com",
            "--name",
            "x",
        ][..],
    ] {
        let run = sb.run(args);
        assert!(run.stdout.is_empty(), "{args:?}: {run:?}");
        run.fails();
    }
}

#[test]
fn user_unlock_needs_an_existing_user() {
    let sb = Sandbox::migrated();
    sb.create("locked@example.com", "user");
    let run = sb
        .run(&["user", "unlock", "--email", "locked@example.com"])
        .ok();
    assert!(run.stdout.contains("unlocked"), "{run:?}");
    let reason = sb
        .run(&["user", "unlock", "--email", "nobody@example.com"])
        .fails();
    assert!(reason.contains("no user with email"), "{reason}");
}

#[test]
fn user_mfa_reset_removes_the_factor_and_records_it() {
    use uuid::Uuid;
    use warden_adapters::db::{SeaOrmAuditLog, SeaOrmMfaRepository, connect};
    use warden_domain::audit::{AuditEvent, AuditKind, AuditQuery};
    use warden_domain::mfa::SealedSecret;
    use warden_domain::ports::{AuditLog, MfaRepository};

    let sb = Sandbox::migrated();
    let user_id: Uuid = sb.create("lost@example.com", "user").parse().unwrap();
    let url = format!("sqlite://{}?mode=rwc", sb.path("w.db").display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = rt.block_on(async { connect(&url, 1).await.unwrap() });
    let (repo, trail) = (
        SeaOrmMfaRepository::new(db.clone()),
        SeaOrmAuditLog::new(db),
    );
    rt.block_on(async {
        let now = time::OffsetDateTime::now_utc();
        let sealed = SealedSecret {
            key_id: "k".into(),
            sealed: "s".into(),
        };
        repo.put_pending(user_id, &sealed, now).await.unwrap();
        let enrolled = AuditEvent::new(Uuid::now_v7(), now, AuditKind::MfaEnrolled);
        assert!(
            repo.confirm(user_id, &sealed, 1, &[], &enrolled)
                .await
                .unwrap()
        );
    });

    let run = sb
        .run(&["user", "mfa-reset", "--email", "lost@example.com"])
        .ok();
    assert_eq!(run.stdout, "lost@example.com has no second factor now\n");
    rt.block_on(async {
        assert!(repo.factor(user_id).await.unwrap().is_none());
        let query = AuditQuery {
            kind: Some(AuditKind::MfaDisabled),
            limit: 10,
            ..AuditQuery::default()
        };
        let events = trail.list(&query).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].details["by"], "operator");
        assert_eq!(events[0].subject, Some(user_id));
    });
    let reason = sb
        .run(&["user", "mfa-reset", "--email", "nobody@example.com"])
        .fails();
    assert!(reason.contains("no user with email"), "{reason}");
}

#[test]
fn sessions_purge_deletes_dead_refresh_tokens_and_keeps_live_ones() {
    use time::{Duration, OffsetDateTime};
    use uuid::Uuid;
    use warden_adapters::db::{SeaOrmRefreshTokenRepository, connect};
    use warden_domain::ports::RefreshTokenRepository;
    use warden_domain::refresh::RefreshToken;

    let sb = Sandbox::migrated();
    let user_id: Uuid = sb.create("purge@example.com", "user").parse().unwrap();
    let url = format!("sqlite://{}?mode=rwc", sb.path("w.db").display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let repo =
        rt.block_on(async { SeaOrmRefreshTokenRepository::new(connect(&url, 1).await.unwrap()) });
    let row = |digest: &str, expires_in: Duration| {
        let now = OffsetDateTime::now_utc();
        let id = Uuid::now_v7();
        RefreshToken {
            id,
            family_id: id,
            user_id,
            parent_id: None,
            digest: digest.into(),
            session_version: 0,
            issued_at: now,
            expires_at: now + expires_in,
            rotated_at: None,
            revoked_at: None,
            second_factor: false,
            client_id: None,
        }
    };
    rt.block_on(async {
        repo.insert(&row("live", Duration::days(1)), &origin(), &audit())
            .await
            .unwrap();
        repo.insert(&row("dead", Duration::seconds(-1)), &origin(), &audit())
            .await
            .unwrap();
    });

    let run = sb.run(&["sessions", "purge"]).ok();
    assert_eq!(run.stdout, "purged 1 refresh tokens\n");
    rt.block_on(async {
        assert!(repo.find_by_digest("live").await.unwrap().is_some());
        assert!(repo.find_by_digest("dead").await.unwrap().is_none());
    });
}

#[test]
fn user_create_refuses_a_look_alike_and_an_invisible_character_without_echoing_it() {
    let sb = Sandbox::migrated();
    sb.create("admin@example.com", "admin");
    let create = |email: &str| {
        sb.run_with(
            &[
                "user",
                "create",
                "--email",
                email,
                "--role",
                "admin",
                "--password-stdin",
            ],
            &[],
            &format!("{GOOD_PASSWORD}\n"),
        )
    };
    // A Cyrillic і, then a fullwidth a: the same account as far as anyone can see.
    for alike in ["adm\u{456}n@example.com", "\u{ff41}dmin@example.com"] {
        assert_eq!(
            create(alike).fails(),
            "a user with this email already exists"
        );
    }
    let reason = create("qzv\u{202e}moc.elpmaxe@xwj.com").fails();
    assert!(reason.contains("invisible"), "{reason}");
    assert!(
        !reason.contains("qzv") && !reason.contains("xwj"),
        "{reason}"
    );
    assert_eq!(sb.users().len(), 1);
}

/// Hashes of "correct horse battery staple" by passlib (bcrypt, PBKDF2) and Django.
const BCRYPT: &str = "$2b$04$76b/syOEPwyP82YJkmT.mO47Ko.C9N6gLh/su51kBejLqQqWLk9bm";
const PASSLIB_PBKDF2: &str =
    "$pbkdf2-sha256$1000$5Dxn7P0fw5gTgjBmLOW8dw$Pc/02E0Z1Bidas99YoP68OGNLNeXmo/wI.wAJEJ0UFI";
const DJANGO: &str =
    "pbkdf2_sha256$1000$S8Ch4wF8vLDieuiOMCwYoa$iPmLoDIaBv8Cp/cBTukQyJkTsMioaGLJIlB4ADhOut4=";

fn import_line(email: &str, hash: &str, extra: &str) -> String {
    format!(r#"{{"email":"{email}","password_hash":"{hash}"{extra}}}"#)
}

#[test]
fn import_writes_good_lines_refuses_bad_ones_by_number_and_a_dry_run_writes_nothing() {
    let sb = Sandbox::migrated();
    let plaintext = "Sup3r-secret-password";
    let lines = [
        import_line("ann@example.com", BCRYPT, r#","role":"admin""#),
        import_line("bad@example.com", plaintext, ""),
        import_line(
            "bob@example.com",
            PASSLIB_PBKDF2,
            r#","display_name":"Bob""#,
        ),
        import_line("eve@example.com", BCRYPT, r#","role":"root""#),
        import_line("cat@example.com", DJANGO, r#","disabled":true"#),
        import_line("dan@example.com", &BCRYPT.replace("$04$", "$16$"), ""),
        r#"{"email":"fay@example.com","password_hash":"#.to_owned(),
    ];
    std::fs::write(sb.path("users.jsonl"), lines.join("\n")).unwrap();
    let refused = [
        "line 2: password_hash is not a supported hash",
        "line 4: role must be admin, service or user",
        "line 6: password_hash is over a bound: bcrypt cost must be at most 15",
        "line 7: the line is truncated JSON",
        "warden: 4 lines were refused",
    ];
    let dry = sb.run(&["user", "import", "--file", "users.jsonl", "--dry-run"]);
    assert!(!dry.success);
    assert_eq!(
        dry.stdout,
        "imported 3, skipped 0, refused 4 (dry run: nothing written)\n"
    );
    let stderr: Vec<&str> = dry.stderr.lines().collect();
    assert_eq!(stderr.len(), refused.len(), "{stderr:?}");
    for (line, expected) in stderr.iter().zip(refused) {
        assert!(line.starts_with(expected), "{line}");
    }
    assert!(!dry.stderr.contains(plaintext) && !dry.stderr.contains("$16$"));
    assert!(sb.users().is_empty());

    let real = sb.run(&["user", "import", "--file", "users.jsonl"]);
    assert_eq!(real.stdout, "imported 3, skipped 0, refused 4\n");
    assert_eq!(real.stderr, dry.stderr);
    let users = sb.users();
    assert_eq!(users.len(), 3);
    let ann = sb.user("ann@example.com").unwrap();
    assert_eq!(ann["role"], "admin");
    assert_eq!(sb.user("bob@example.com").unwrap()["display_name"], "Bob");
    assert_eq!(sb.user("cat@example.com").unwrap()["disabled"], true);

    // Again from stdin, skipping what exists: nothing new, and the report as JSON.
    let again = sb.run_with(
        &[
            "user",
            "import",
            "--file",
            "-",
            "--on-conflict",
            "skip",
            "--json",
        ],
        &[],
        &lines.join("\n"),
    );
    let report: Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(
        (&report["imported"], &report["skipped"], &report["refused"]),
        (&Value::from(0), &Value::from(3), &Value::from(4))
    );
    assert_eq!(report["refusals"][0]["line"], 2);
    // Without skip, an existing email is a refused line.
    std::fs::write(
        sb.path("one.jsonl"),
        import_line("ANN@example.com", BCRYPT, ""),
    )
    .unwrap();
    let exists = sb.run(&["user", "import", "--file", "one.jsonl"]);
    assert!(
        exists
            .stderr
            .starts_with("line 1: an account with this email exists")
    );
    assert_eq!(sb.users().len(), 3);
}

#[test]
fn import_update_takes_the_new_hash_and_keeps_what_the_line_omits() {
    let sb = Sandbox::migrated();
    let id = sb.create("ann@example.com", "user");
    std::fs::write(
        sb.path("u.jsonl"),
        import_line("ann@example.com", DJANGO, r#","role":"service""#),
    )
    .unwrap();
    let run = sb
        .run(&[
            "user",
            "import",
            "--file",
            "u.jsonl",
            "--on-conflict",
            "update",
        ])
        .ok();
    assert_eq!(run.stdout, "imported 0, skipped 0, refused 0, updated 1\n");
    let ann = sb.user("ann@example.com").unwrap();
    assert_eq!(
        (ann["id"].as_str().unwrap(), &ann["role"]),
        (id.as_str(), &Value::from("service"))
    );
    sb.run(&["user", "export", "--file", "all.jsonl"]);
    let exported = std::fs::read_to_string(sb.path("all.jsonl")).unwrap();
    assert!(exported.contains(DJANGO), "{exported}");
    let bad = sb
        .run(&[
            "user",
            "import",
            "--file",
            "u.jsonl",
            "--on-conflict",
            "replace",
        ])
        .fails();
    assert!(bad.contains("skip, update or fail"), "{bad}");
    let missing = sb
        .run(&["user", "import", "--file", "nowhere.jsonl"])
        .fails();
    assert!(
        missing.starts_with("cannot read nowhere.jsonl"),
        "{missing}"
    );
}

#[test]
fn export_writes_a_private_file_that_imports_back_the_same_users() {
    use std::os::unix::fs::PermissionsExt as _;
    let sb = Sandbox::migrated();
    sb.create("root@example.com", "admin");
    let lines = [
        import_line(
            "ann@example.com",
            BCRYPT,
            r#","display_name":"Ann","email_verified":true"#,
        ),
        import_line(
            "bob@example.com",
            PASSLIB_PBKDF2,
            r#","role":"service","disabled":true,"created_at":"2024-02-03T04:05:06Z""#,
        ),
    ];
    std::fs::write(sb.path("in.jsonl"), lines.join("\n")).unwrap();
    sb.run(&["user", "import", "--file", "in.jsonl"]).ok();
    // An existing file is replaced whole, and ends readable by its owner only.
    std::fs::write(sb.path("out.jsonl"), "old").unwrap();
    let run = sb.run(&["user", "export", "--file", "out.jsonl"]);
    assert!(run.success, "{run:?}");
    assert_eq!(run.stdout, "exported 3 users to out.jsonl\n");
    assert!(
        run.stderr.contains("holds every user's password hash"),
        "{run:?}"
    );
    let mode = std::fs::metadata(sb.path("out.jsonl"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let exported = std::fs::read_to_string(sb.path("out.jsonl")).unwrap();
    let rows: Vec<Value> = exported
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    let bob = rows
        .iter()
        .find(|r| r["email"] == "bob@example.com")
        .unwrap();
    assert_eq!(bob["password_hash"], PASSLIB_PBKDF2);
    assert_eq!(
        (&bob["role"], &bob["disabled"]),
        (&Value::from("service"), &Value::from(true))
    );
    assert_eq!(bob["created_at"], "2024-02-03T04:05:06Z");
    let ann = rows
        .iter()
        .find(|r| r["email"] == "ann@example.com")
        .unwrap();
    assert_eq!(
        (&ann["email_verified"], &ann["display_name"]),
        (&Value::from(true), &Value::from("Ann"))
    );

    let other = Sandbox::migrated();
    std::fs::copy(sb.path("out.jsonl"), other.path("in.jsonl")).unwrap();
    other.run(&["user", "import", "--file", "in.jsonl"]).ok();
    other.run(&["user", "export", "--file", "back.jsonl"]);
    let back = std::fs::read_to_string(other.path("back.jsonl")).unwrap();
    let mut a: Vec<&str> = exported.lines().collect();
    let mut b: Vec<&str> = back.lines().collect();
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b, "the same users, hashes and times");
}

#[test]
fn audit_list_shows_the_operators_changes_as_the_api_does_and_refuses_bad_filters() {
    let sb = Sandbox::migrated();
    let id = sb.create("root@example.com", "admin");
    sb.create("member@example.com", "user");
    sb.run(&[
        "user",
        "set-role",
        "--email",
        "member@example.com",
        "--role",
        "service",
    ])
    .ok();

    let run = sb
        .run(&["audit", "list", "--email", "member@example.com", "--json"])
        .ok();
    let page: Value = serde_json::from_str(&run.stdout).unwrap();
    let items = page["items"].as_array().unwrap();
    let types: Vec<&str> = items.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["user.updated", "user.created"]);
    assert_eq!(
        items[0]["actor"],
        serde_json::json!({"kind": "operator", "id": null})
    );
    assert_eq!(items[0]["details"]["fields"], serde_json::json!(["role"]));
    assert!(items[0]["ip"].is_null());
    assert!(page["next_cursor"].is_null());

    // The table, one page at a time, with the cursor to go on.
    let run = sb.run(&["audit", "list", "--limit", "1"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("AT"), "{}", run.stdout);
    assert!(lines[1].contains("user.updated"), "{}", run.stdout);
    let cursor = lines[2].strip_prefix("next page: --cursor ").unwrap();
    let run = sb
        .run(&[
            "audit", "list", "--limit", "1", "--cursor", cursor, "--json",
        ])
        .ok();
    let next: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(next["items"][0]["type"], "user.created");
    let run = sb
        .run(&[
            "audit",
            "list",
            "--user-id",
            &id,
            "--type",
            "user.created",
            "--json",
        ])
        .ok();
    let mine: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["subject"], id.as_str());

    for (args, reason) in [
        (
            &["--type", "LOGIN.FAILED"][..],
            "--type: not a known event type",
        ),
        (&["--limit", "0"][..], "limit must be between 1 and 200"),
        (&["--limit", "201"][..], "limit must be between 1 and 200"),
    ] {
        let mut all = vec!["audit", "list"];
        all.extend(args);
        let said = sb.run(&all).fails();
        assert!(said.contains(reason), "{args:?}: {said}");
        assert!(!said.contains("LOGIN.FAILED"), "never echoed: {said}");
    }
}

/// Where a test's sessions log in from.
fn origin() -> warden_domain::origin::Origin {
    warden_domain::origin::Origin::new(std::net::IpAddr::from([192, 0, 2, 1]), Some("tests"))
}

/// An audit event for a test's direct repository calls.
fn audit() -> warden_domain::audit::AuditEvent {
    warden_domain::audit::AuditEvent::new(
        uuid::Uuid::now_v7(),
        time::OffsetDateTime::now_utc(),
        warden_domain::audit::AuditKind::UserUpdated,
    )
}

#[test]
fn user_reset_link_prints_one_single_use_link_and_verify_email_marks_the_address() {
    let sb = Sandbox::migrated();
    sb.create("link@example.com", "user");
    let public = [("WARDEN_SERVER__PUBLIC_URL", "https://auth.example.com/")];
    let first = sb
        .run_with(
            &["user", "reset-link", "--email", "LINK@example.com"],
            &public,
            "",
        )
        .ok();
    let link = first.stdout.trim();
    let token = link
        .strip_prefix("https://auth.example.com/account/reset?token=")
        .unwrap_or_else(|| panic!("{first:?}"));
    assert_eq!(token.len(), 43, "{link}");
    assert_eq!(first.stdout.lines().count(), 1);
    let second = sb
        .run_with(
            &["user", "reset-link", "--email", "link@example.com"],
            &public,
            "",
        )
        .ok();
    assert_ne!(second.stdout, first.stdout, "each run makes a new link");
    assert!(!sb.path("mail").exists(), "a printed link is not mailed");
    let reason = sb
        .run(&["user", "reset-link", "--email", "nobody@example.com"])
        .fails();
    assert!(reason.contains("no user with email"), "{reason}");

    let listed = sb.run(&["user", "list", "--json"]).ok();
    assert!(
        listed.stdout.contains("\"email_verified\": false"),
        "{listed:?}"
    );
    let run = sb
        .run(&["user", "verify-email", "--email", "link@example.com"])
        .ok();
    assert_eq!(run.stdout, "link@example.com is verified\n");
    let listed = sb.run(&["user", "list", "--json"]).ok();
    assert!(
        listed.stdout.contains("\"email_verified\": true"),
        "{listed:?}"
    );
    let table = sb.run(&["user", "list"]).ok();
    assert!(table.stdout.contains("VERIFIED"), "{table:?}");
    let reason = sb
        .run(&["user", "verify-email", "--email", "nobody@example.com"])
        .fails();
    assert!(reason.contains("no user with email"), "{reason}");
}

#[test]
fn mail_test_reports_in_one_line() {
    let sb = Sandbox::new();
    let files = sb.run(&["mail", "test", "--to", "ops@example.com"]).ok();
    assert!(
        files
            .stdout
            .starts_with("sent a test message to ops@example.com; mail is written as .eml files"),
        "{files:?}"
    );
    let written: Vec<_> = std::fs::read_dir(sb.path("mail")).unwrap().collect();
    assert_eq!(written.len(), 1);
    // Nothing listens on port 9 of loopback: refused at once, said in one line.
    let down = [(
        "WARDEN_MAIL__SMTP_URL",
        "smtp://u:sekrit@127.0.0.1:9?tls=none",
    )];
    let reason = sb
        .run_with(&["mail", "test", "--to", "ops@example.com"], &down, "")
        .fails();
    assert!(
        reason.starts_with("the test message to ops@example.com was not sent: "),
        "{reason}"
    );
    assert!(!reason.contains("sekrit"), "{reason}");
    let bad = [("WARDEN_MAIL__SMTP_URL", "smtp://u:sekrit@h?tls=maybe")];
    let reason = sb
        .run_with(&["mail", "test", "--to", "ops@example.com"], &bad, "")
        .fails();
    assert!(
        reason.starts_with("mail.smtp_url: ") && !reason.contains("sekrit"),
        "{reason}"
    );
    let off = [("WARDEN_MAIL__TRANSPORT", "off")];
    let reason = sb
        .run_with(&["mail", "test", "--to", "ops@example.com"], &off, "")
        .fails();
    assert!(reason.contains("mail is off"), "{reason}");
    let reason = sb.run(&["mail", "test", "--to", "not an address"]).fails();
    assert!(reason.starts_with("--to: "), "{reason}");
}
