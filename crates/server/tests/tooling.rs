//! `warden-api` behaves like a tool: `--help` and `--version` print and exit without starting,
//! a port in use is refused before any database file is made, and the start-up line says where
//! the server answers, in which profile, on which database and with which docs.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

/// A command for the binary in a fresh directory with none of the caller's `WARDEN_*`.
fn server(dir: &std::path::Path) -> Command {
    std::fs::create_dir_all(dir).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden-api"));
    for (k, _) in std::env::vars() {
        if k.starts_with("WARDEN_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(dir).stdin(Stdio::null());
    cmd
}

fn fresh_dir(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("warden-tooling-{name}-{}", std::process::id()))
}

#[test]
fn help_and_version_print_and_exit_without_starting() {
    let dir = fresh_dir("help");
    for (flag, expected) in [
        ("--help", "Usage: warden-api"),
        ("-h", "Usage: warden-api"),
        (
            "--version",
            concat!("warden-api ", env!("CARGO_PKG_VERSION")),
        ),
        ("-V", concat!("warden-api ", env!("CARGO_PKG_VERSION"))),
    ] {
        let out = server(&dir)
            .arg(flag)
            .env("WARDEN_SERVER__BIND", "127.0.0.1:0")
            .env("WARDEN_DATABASE__URL", "sqlite://never.db?mode=rwc")
            .output()
            .unwrap();
        assert!(out.status.success(), "{flag}: {out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(expected), "{flag}: {stdout}");
        assert!(!dir.join("never.db").exists(), "{flag} opened the database");
    }
    let out = server(&dir).arg("--no-such-flag").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(!dir.join("never.db").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_port_in_use_is_refused_before_a_database_file_is_made() {
    let dir = fresh_dir("port");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let out = server(&dir)
        .env("WARDEN_SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("WARDEN_DATABASE__URL", "sqlite://fresh.db?mode=rwc")
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "warden-api: server.bind: cannot listen on 127.0.0.1:{port}"
        )),
        "{stderr}"
    );
    assert!(!dir.join("fresh.db").exists(), "a file was made first");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A running server and its log lines, as they come.
struct Running {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Running {
    /// Starts the server on a free port with a test signing key and these variables. With
    /// `close_log_after_start`, its stderr is closed right after the start-up line, as when a
    /// log collector goes away.
    fn start(dir: &std::path::Path, vars: &[(&str, &str)], close_log_after_start: bool) -> Self {
        let mut child = server(dir)
            .env("WARDEN_SERVER__BIND", "127.0.0.1:0")
            .env(
                "WARDEN_JWT__SECRET",
                "s0m3-r4nd0m-l00k1ng-v4lu3-f0r-t3sts-Zq",
            )
            .env("NO_COLOR", "1")
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let started = line.contains("warden-api listening");
                if tx.send(line).is_err() || (started && close_log_after_start) {
                    return;
                }
            }
        });
        Self { child, lines }
    }

    /// The next log line, waiting at most 30 s.
    fn next_line(&self) -> Option<String> {
        self.lines.recv_timeout(Duration::from_secs(30)).ok()
    }

    /// The log lines up to and including the start-up line (`None` if it never came).
    fn until_listening(&self) -> Option<Vec<String>> {
        let mut seen = Vec::new();
        loop {
            let line = self.next_line()?;
            let done = line.contains("warden-api listening");
            seen.push(line);
            if done {
                return Some(seen);
            }
        }
    }

    fn stop(mut self) {
        self.child.kill().unwrap();
        let _ = self.child.wait();
    }
}

/// Starts the server with these variables and returns its log lines up to the start-up line
/// (`None` if it never came), then stops it.
fn lines_until_listening(dir: &std::path::Path, vars: &[(&str, &str)]) -> Option<Vec<String>> {
    let running = Running::start(dir, vars, true);
    let lines = running.until_listening();
    running.stop();
    lines
}

#[test]
fn the_start_up_line_says_where_what_and_how_without_credentials() {
    let dir = fresh_dir("line");
    let lines = lines_until_listening(
        &dir,
        &[("WARDEN_DATABASE__URL", "sqlite://data.db?mode=rwc")],
    );
    let _ = std::fs::remove_dir_all(&dir);
    let lines = lines.expect("the start-up line");
    let line = lines.last().unwrap();
    assert!(line.contains("url=http://127.0.0.1:"), "{line}");
    assert!(
        line.contains("profile=\"development\"") || line.contains("profile=development"),
        "{line}"
    );
    assert!(line.contains("database=sqlite data.db"), "{line}");
    assert!(line.contains("/docs"), "{line}");
    assert!(line.contains("this instance"), "{line}");
    assert!(!line.contains("s0m3-r4nd0m"), "{line}");
}

#[tokio::test]
async fn a_second_start_on_postgresql_logs_no_notice_of_existing_tables() {
    let Some(database) = common::Database::create().await else {
        return;
    };
    let dir = fresh_dir("notices");
    let vars = [("WARDEN_DATABASE__URL", database.url.as_str())];
    let first = lines_until_listening(&dir, &vars);
    let second = lines_until_listening(&dir, &vars);
    let _ = std::fs::remove_dir_all(&dir);
    database.drop_it().await;
    assert!(first.is_some(), "the first start migrates and listens");
    let second = second.expect("the second start listens");
    let notices: Vec<&String> = second
        .iter()
        .filter(|l| l.contains("already exists") || l.contains("sqlx::postgres::notice"))
        .collect();
    assert!(notices.is_empty(), "{notices:#?}");
    assert!(
        second
            .last()
            .unwrap()
            .contains("database=postgres postgres://")
    );
}

/// The one line the server prints when it cannot start with this database URL.
fn refusal(dir: &std::path::Path, url: &str) -> String {
    let out = server(dir)
        .env("WARDEN_SERVER__BIND", "127.0.0.1:0")
        .env("WARDEN_DATABASE__URL", url)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "{url} started");
    String::from_utf8_lossy(&out.stderr).trim_end().to_owned()
}

#[test]
fn a_database_that_cannot_be_opened_is_explained() {
    let dir = fresh_dir("causes");
    let closed = common::unused_port();
    let refused = refusal(&dir, &format!("postgres://app:Pw7-x@127.0.0.1:{closed}/db"));
    assert!(
        refused.ends_with(&format!(
            "nothing listens on 127.0.0.1:{closed} (connection refused); is PostgreSQL running there?"
        )),
        "{refused}"
    );
    let missing_dir = refusal(&dir, "sqlite://no/such/dir/w.db?mode=rwc");
    assert!(
        missing_dir.ends_with(
            "the directory no/such/dir does not exist; create it, or point database.url at another"
        ),
        "{missing_dir}"
    );
    assert!(!dir.join("no").exists());
    // On the machine's PostgreSQL (CI has it): an unknown database and an unknown user.
    if let Ok(url) = std::env::var("POSTGRES_TEST_URL") {
        let (base, _) = url.rsplit_once('/').unwrap();
        let unknown = refusal(&dir, &format!("{base}/warden_no_such_database"));
        assert!(
            unknown.contains("the database warden_no_such_database does not exist on "),
            "{unknown}"
        );
        let (scheme, rest) = base.split_once("://").unwrap();
        let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
        let login = refusal(
            &dir,
            &format!("{scheme}://warden_no_such_user:Pw7-y@{host}/postgres"),
        );
        assert!(
            login.contains("refused the login of user warden_no_such_user")
                && !login.contains("Pw7"),
            "{login}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn json_logs_are_one_object_per_line_with_the_access_fields() {
    let dir = fresh_dir("json");
    let running = Running::start(
        &dir,
        &[
            ("WARDEN_DATABASE__URL", "sqlite://data.db?mode=rwc"),
            ("WARDEN_LOG__FORMAT", "json"),
        ],
        false,
    );
    let next = || running.next_line().expect("a log line");
    let parse = |line: &str| -> serde_json::Value {
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    };
    let started = loop {
        let line = parse(&next());
        if line["message"] == "warden-api listening" {
            break line;
        }
    };
    let url = started["url"].as_str().unwrap().to_owned();
    assert_eq!(started["level"], "INFO");
    assert_eq!(started["profile"], "development");
    let address = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    std::io::Write::write_all(
        &mut stream,
        b"GET /health/live?api_key=wdn_secret HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut answer = String::new();
    let _ = std::io::Read::read_to_string(&mut stream, &mut answer);
    let access = loop {
        let line = parse(&next());
        if line["target"] == "warden::access" {
            break line;
        }
    };
    running.stop();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(access["method"], "GET");
    assert_eq!(access["path"], "/health/live");
    assert_eq!(access["status"], 200);
    assert_eq!(access["client_ip"], "127.0.0.1");
    assert!(access["latency_ms"].is_string() || access["latency_ms"].is_number());
    assert!(!access.to_string().contains("wdn_secret"), "{access}");
}

/// One HTTP/1.1 GET, the whole answer as text.
fn http_get(address: &str, target: &str) -> String {
    http(
        address,
        &format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    )
}

/// One HTTP/1.1 request as written, the whole answer as text.
fn http(address: &str, request: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    std::io::Write::write_all(&mut stream, request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = std::io::Read::read_to_end(&mut stream, &mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn metrics_are_served_on_their_own_listener_by_route_template() {
    let dir = fresh_dir("metrics");
    let metrics_port = common::unused_port();
    let metrics_bind = format!("127.0.0.1:{metrics_port}");
    let running = Running::start(
        &dir,
        &[
            ("WARDEN_DATABASE__URL", "sqlite://data.db?mode=rwc"),
            ("WARDEN_METRICS__BIND", &metrics_bind),
        ],
        true,
    );
    let started = running.until_listening().expect("the start-up line");
    let line = started.last().unwrap();
    let url = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("url=http://"))
        .unwrap()
        .to_owned();
    // The log pipe was closed after the start-up line: the server must keep answering.
    let live = http_get(&url, "/health/live");
    assert!(live.starts_with("HTTP/1.1 200"), "{live:?}");
    http_get(&url, "/admin/users/00000000-0000-0000-0000-000000000001");
    http_get(&url, "/no/such/thing/at/all");
    let form = "grant_type=password&username=nobody%40example.com&password=not+the+one+at+all";
    let login = http(
        &url,
        &format!(
            "POST /auth/token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        ),
    );
    assert!(login.starts_with("HTTP/1.1 400"), "{login}");
    let scraped = http_get(&metrics_bind, "/metrics");
    let api_has_no_metrics = http_get(&url, "/metrics");
    running.stop();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(scraped.starts_with("HTTP/1.1 200"), "{scraped}");
    assert!(
        scraped.contains("application/openmetrics-text"),
        "{scraped}"
    );
    for expected in [
        "warden_http_requests_total{route=\"/health/live\",method=\"GET\",status=\"200\"} 1",
        "warden_http_requests_total{route=\"/admin/users/{id}\",method=\"GET\",status=\"401\"} 1",
        "warden_http_requests_total{route=\"other\",method=\"GET\",status=\"404\"} 1",
        "warden_http_request_duration_seconds_bucket{le=",
        "warden_build_info{version=",
        "warden_logins_total{outcome=\"unknown_user\"} 1",
        // The dummy hash made at start, then the login's verification.
        "warden_password_hash_seconds_count 2",
        "warden_password_hash_queue_wait_seconds_count 2",
        "warden_db_pool_max_connections ",
        "# EOF",
    ] {
        assert!(scraped.contains(expected), "{expected} not in {scraped}");
    }
    // Raw paths never become labels, and the API's own listener has no /metrics.
    assert!(!scraped.contains("00000000-0000-0000-0000-000000000001"));
    assert!(
        api_has_no_metrics.starts_with("HTTP/1.1 404"),
        "{api_has_no_metrics}"
    );
}
