//! Starting and stopping a Warden server for a task, and a tiny HTTP/1.1 client to talk to it.
//!
//! The server runs in a fresh temporary directory with its own database file, a random JWT
//! secret and a free loopback port; [`Server`] kills it when dropped, so that no error path
//! leaves a server behind.

use std::collections::hash_map::RandomState;
use std::env;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{self, Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::{Result, target_dir};

/// Rate limits and lockout bounds no task's load reaches: tasks measure or probe the work, not
/// refusals.
pub const UNLIMITED: [(&str, &str); 5] = [
    ("WARDEN_RATE_LIMIT__LOGIN", "1000000000/second"),
    ("WARDEN_RATE_LIMIT__REGISTER", "1000000000/second"),
    ("WARDEN_RATE_LIMIT__DEFAULT", "1000000000/second"),
    // Every attempt is still counted in storage before it is verified (the cost stays in the
    // figures); only the bound on attempts at once, which many clients logging in as one
    // account from one address would meet, is out of reach.
    ("WARDEN_LOCKOUT__MAX_FAILURES", "1000000000"),
    ("WARDEN_LOCKOUT__ACCOUNT_MAX_FAILURES", "1000000000"),
];
/// The lowest argon2id cost, for tasks whose logins are a means, not the subject.
pub const CHEAP_HASHING: [(&str, &str); 2] = [
    ("WARDEN_ARGON2__MEMORY_KIB", "1024"),
    ("WARDEN_ARGON2__ITERATIONS", "1"),
];

/// The server binary's file name, without the platform's executable suffix.
const BINARY_NAME: &str = "warden-api";

/// How long the server may take to answer `GET /health/live` with 200.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// The pause between two readiness probes.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// The connect, read and write timeout of one readiness probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// The connect, read and write timeout of an ordinary request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The length of the generated JWT secret, in hexadecimal digits.
const SECRET_LEN: usize = 48;
/// How many lines of the server log an error message shows.
const LOG_TAIL_LINES: usize = 40;

/// The path of the server binary cargo builds with `profile` (`debug` or `release`).
pub fn binary_path(profile: &str) -> PathBuf {
    target_dir()
        .join(profile)
        .join(format!("{BINARY_NAME}{}", env::consts::EXE_SUFFIX))
}

/// The path of the release build of the example `name`.
pub fn example_path(name: &str) -> PathBuf {
    target_dir()
        .join("release/examples")
        .join(format!("{name}{}", env::consts::EXE_SUFFIX))
}

/// A running server; dropping it kills the process.
///
/// [`Server::stop`] is the normal end: it also removes the temporary directory. When the guard
/// is dropped instead (an error path), the directory and its log are kept for inspection.
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    addr: SocketAddr,
    dir: PathBuf,
    log: PathBuf,
}

impl Server {
    /// Starts `binary` in a fresh temporary directory and waits until it is ready.
    pub fn start(binary: &Path) -> Result<Self> {
        Self::start_with(binary, &[])
    }

    /// Like [`Server::start`], with extra environment variables (`WARDEN_*` settings).
    pub fn start_with(binary: &Path, vars: &[(&str, &str)]) -> Result<Self> {
        if !binary.is_file() {
            return Err(format!("server binary {} does not exist", binary.display()));
        }

        let dir = fresh_temp_dir()?;
        let log = dir.join("server.log");
        let port = free_port()?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));

        let stdout = File::create(&log)
            .map_err(|e| format!("could not create the server log {}: {e}", log.display()))?;
        let stderr = stdout
            .try_clone()
            .map_err(|e| format!("could not share the server log {}: {e}", log.display()))?;

        let mut command = Command::new(binary);
        command
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        // The caller's own configuration must not leak into a run that should be reproducible.
        for (key, _) in env::vars_os() {
            if key.to_str().is_some_and(|key| key.starts_with("WARDEN_")) {
                command.env_remove(&key);
            }
        }
        command
            .env("WARDEN_SERVER__BIND", addr.to_string())
            .env(
                "WARDEN_DATABASE__URL",
                format!("sqlite://{}?mode=rwc", dir.join("warden.db").display()),
            )
            .env("WARDEN_JWT__SECRET", random_secret())
            .env("WARDEN_DOCS__ENABLED", "true")
            .env("RUST_LOG", "warn")
            .envs(vars.iter().copied());

        println!(
            "starting {} on {addr} in {}",
            binary.display(),
            dir.display()
        );
        let child = command
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", binary.display()))?;
        let mut server = Self {
            child: Some(child),
            addr,
            dir,
            log,
        };
        server.wait_until_ready()?;
        Ok(server)
    }

    /// Polls `GET /health/live` until it answers 200, the process exits or the timeout passes.
    fn wait_until_ready(&mut self) -> Result {
        let started = Instant::now();
        loop {
            self.ensure_running()?;
            let last_problem =
                match request(self.addr, "GET", "/health/live", &[], b"", PROBE_TIMEOUT) {
                    Ok(response) if response.status == 200 => {
                        println!(
                            "server ready at http://{} after {:.1} s",
                            self.addr,
                            started.elapsed().as_secs_f64()
                        );
                        return Ok(());
                    }
                    Ok(response) => format!("status {}", response.status),
                    Err(e) => e,
                };
            if started.elapsed() >= STARTUP_TIMEOUT {
                return Err(format!(
                    "the server did not answer GET /health/live with 200 within {} s \
                     (last attempt: {last_problem}); log {}:\n{}",
                    STARTUP_TIMEOUT.as_secs(),
                    self.log.display(),
                    self.log_tail()
                ));
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// Fails with the log's tail if the server process has exited.
    pub fn ensure_running(&mut self) -> Result {
        let Some(child) = self.child.as_mut() else {
            return Err("the server has already been stopped".to_owned());
        };
        match child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "the server exited unexpectedly ({status}); log {}:\n{}",
                self.log.display(),
                self.log_tail()
            )),
            Err(e) => Err(format!("could not check on the server process: {e}")),
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The temporary directory the server runs in; tasks may put their own files there too.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The absolute URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends one request to the server; see [`request`].
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response> {
        request(self.addr, method, path, headers, body, REQUEST_TIMEOUT)
            .map_err(|e| format!("{method} {path}: {e}"))
    }

    /// The last lines of the server log, indented, or a note saying why they are missing.
    pub fn log_tail(&self) -> String {
        match fs::read(&self.log) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let lines: Vec<&str> = text.lines().collect();
                if lines.is_empty() {
                    return "    (the log is empty)".to_owned();
                }
                let start = lines.len().saturating_sub(LOG_TAIL_LINES);
                lines[start..]
                    .iter()
                    .map(|line| format!("    {line}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            Err(e) => format!("    (could not read the log: {e})"),
        }
    }

    /// Kills the server and removes its temporary directory.
    pub fn stop(mut self) {
        self.kill();
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            eprintln!(
                "xtask: warning: could not remove {}: {e}",
                self.dir.display()
            );
        }
    }

    /// Kills and reaps the process if it is still there; returns whether there was one.
    fn kill(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        // Killing a process that has already exited fails harmlessly; waiting reaps it either way.
        let _ = child.kill();
        let _ = child.wait();
        true
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.kill() {
            eprintln!(
                "xtask: server stopped; its directory is kept for inspection: {} (log: {})",
                self.dir.display(),
                self.log.display()
            );
        }
    }
}

/// Creates `warden-xtask-<pid>-<nanos>` in the system's temporary directory.
fn fresh_temp_dir() -> Result<PathBuf> {
    let dir = env::temp_dir().join(format!("warden-xtask-{}-{}", process::id(), unix_nanos()));
    fs::create_dir(&dir)
        .map_err(|e| format!("could not create the directory {}: {e}", dir.display()))?;
    Ok(dir)
}

/// A loopback port that was free a moment ago: the OS picks it and the listener is dropped.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("could not find a free port: {e}"))?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("could not read the free port: {e}"))?
        .port();
    Ok(port)
}

/// Nanoseconds since the Unix epoch, or zero if the clock is before it.
fn unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos())
}

/// A random-looking hexadecimal secret derived from the time, the process id and a random key.
///
/// The first digit is always a letter, so that a configuration loader that parses values as TOML
/// can never read the secret as a number.
fn random_secret() -> String {
    let nanos = unix_nanos();
    let pid = process::id();
    // `RandomState` is seeded from the OS, which adds entropy the time and pid lack.
    let state = RandomState::new();
    let mut secret = String::with_capacity(SECRET_LEN + 16);
    let mut counter = 0_u64;
    while secret.len() < SECRET_LEN {
        let mut hasher = state.build_hasher();
        hasher.write_u128(nanos);
        hasher.write_u32(pid);
        hasher.write_u64(counter);
        let _ = write!(secret, "{:016x}", hasher.finish());
        counter += 1;
    }
    secret.truncate(SECRET_LEN);
    let letter = match secret.as_bytes()[0] {
        digit @ b'0'..=b'9' => char::from(b'a' + (digit - b'0') % 6),
        other => char::from(other),
    };
    secret.replace_range(..1, letter.encode_utf8(&mut [0; 4]));
    secret
}

/// A complete HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text, cut to a length that fits in an error message.
    pub fn body_text_excerpt(&self) -> String {
        const MAX_CHARS: usize = 500;
        let text = String::from_utf8_lossy(&self.body);
        if text.trim().is_empty() {
            return "(empty body)".to_owned();
        }
        let mut excerpt: String = text.chars().take(MAX_CHARS).collect();
        if text.chars().count() > MAX_CHARS {
            excerpt.push_str("...");
        }
        excerpt
    }
}

/// Sends one HTTP/1.1 request with `Connection: close` and reads the whole response.
///
/// `headers` should not include `Host`, `Connection` or `Content-Length`; they are added here.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> Result<Response> {
    let io_error = |what: &str, e: io::Error| format!("{what} {addr}: {e}");
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| io_error("connecting to", e))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .and_then(|()| stream.set_nodelay(true))
        .map_err(|e| io_error("configuring the connection to", e))?;

    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if !body.is_empty() || !matches!(method, "GET" | "HEAD") {
        let _ = write!(head, "Content-Length: {}\r\n", body.len());
    }
    for (name, value) in headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    head.push_str("\r\n");
    let mut message = head.into_bytes();
    message.extend_from_slice(body);
    stream
        .write_all(&message)
        .and_then(|()| stream.flush())
        .map_err(|e| io_error("sending the request to", e))?;

    let head_only = method == "HEAD";
    let mut raw = Vec::new();
    let mut chunk = [0_u8; 16 * 1024];
    loop {
        let read = match stream.read(&mut chunk) {
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_error("reading the response from", e)),
        };
        let eof = read == 0;
        raw.extend_from_slice(&chunk[..read]);
        if let Some(response) = parse_response(&raw, eof, head_only)? {
            return Ok(response);
        }
        if eof {
            return Err(format!("{addr} closed the connection mid-response"));
        }
    }
}

/// Parses a response once it is complete: `Ok(None)` means more bytes are needed.
///
/// `eof` says the peer has closed the connection, which ends a body that has no other framing.
fn parse_response(raw: &[u8], eof: bool, head_only: bool) -> Result<Option<Response>> {
    let Some(head_end) = find(raw, b"\r\n\r\n") else {
        return if eof {
            Err("the connection closed before the response headers ended".to_owned())
        } else {
            Ok(None)
        };
    };
    let head = std::str::from_utf8(&raw[..head_end])
        .map_err(|_| "the response headers are not UTF-8".to_owned())?;
    let rest = &raw[head_end + 4..];

    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    let version = parts.next().unwrap_or_default();
    let status = parts
        .next()
        .and_then(|code| code.parse::<u16>().ok())
        .filter(|_| version.starts_with("HTTP/1."))
        .ok_or_else(|| format!("malformed status line `{status_line}`"))?;

    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("malformed header line `{line}`"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let header = |wanted: &str| {
        headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.as_str())
    };

    let body = if head_only || status == 204 || status == 304 || (100..200).contains(&status) {
        Some(Vec::new())
    } else if header("transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"))
    {
        match decode_chunked(rest)? {
            Some(body) => Some(body),
            None if eof => {
                return Err("the connection closed mid-way through a chunked body".to_owned());
            }
            None => None,
        }
    } else if let Some(length) = header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| format!("malformed Content-Length `{length}`"))?;
        if rest.len() >= length {
            Some(rest[..length].to_vec())
        } else if eof {
            return Err(format!(
                "the connection closed after {} of {length} body bytes",
                rest.len()
            ));
        } else {
            None
        }
    } else if eof {
        Some(rest.to_vec())
    } else {
        None
    };

    Ok(body.map(|body| Response {
        status,
        headers,
        body,
    }))
}

/// Decodes a chunked body: `Ok(None)` means the final chunk has not arrived yet.
fn decode_chunked(mut data: &[u8]) -> Result<Option<Vec<u8>>> {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = find(data, b"\r\n") else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&data[..line_end])
            .map_err(|_| "malformed chunk size line".to_owned())?;
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("malformed chunk size `{size_text}`"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            // Trailers, if any, are of no interest here.
            return Ok(Some(body));
        }
        if data.len() < size + 2 {
            return Ok(None);
        }
        if &data[size..size + 2] != b"\r\n" {
            return Err("a chunk is not followed by CRLF".to_owned());
        }
        body.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// The index of the first occurrence of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_response_framed_by_content_length() {
        let raw = b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhelloEXTRA";
        let response = parse_response(raw, false, false).unwrap().unwrap();
        assert_eq!(response.status, 201);
        assert_eq!(response.body, b"hello");
        assert_eq!(response.headers[1], ("X-A".to_owned(), "b".to_owned()));
    }

    #[test]
    fn waits_for_the_rest_of_a_body() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello";
        assert_eq!(parse_response(raw, false, false).unwrap(), None);
        assert!(parse_response(raw, true, false).is_err());
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\n", false, false).unwrap(),
            None
        );
    }

    #[test]
    fn decodes_a_chunked_body() {
        let raw = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        let response = parse_response(raw, false, false).unwrap().unwrap();
        assert_eq!(response.body, b"hello world");
        let partial = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel";
        assert_eq!(parse_response(partial, false, false).unwrap(), None);
    }

    #[test]
    fn reads_an_unframed_body_until_the_connection_closes() {
        let raw = b"HTTP/1.1 200 OK\r\n\r\nabc";
        assert_eq!(parse_response(raw, false, false).unwrap(), None);
        assert_eq!(
            parse_response(raw, true, false).unwrap().unwrap().body,
            b"abc"
        );
        let no_content = b"HTTP/1.1 204 No Content\r\n\r\n";
        assert!(parse_response(no_content, false, false).unwrap().is_some());
    }

    #[test]
    fn refuses_a_malformed_status_line() {
        assert!(parse_response(b"SPDY/3 200 OK\r\n\r\n", true, false).is_err());
        assert!(parse_response(b"HTTP/1.1 abc OK\r\n\r\n", true, false).is_err());
    }

    #[test]
    fn the_secret_is_hex_and_starts_with_a_letter() {
        let secret = random_secret();
        assert_eq!(secret.len(), SECRET_LEN);
        assert!(
            secret
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert!(secret.as_bytes()[0].is_ascii_alphabetic());
        assert_ne!(secret, random_secret());
    }

    #[test]
    fn talks_to_a_real_socket() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut received = Vec::new();
            let mut buf = [0_u8; 1024];
            while find(&received, b"\r\n\r\nname=x").is_none() {
                let read = stream.read(&mut buf).unwrap();
                assert_ne!(read, 0, "the client closed early");
                received.extend_from_slice(&buf[..read]);
            }
            // Answer in two pieces to exercise the incremental reader.
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello")
                .unwrap();
            stream.flush().unwrap();
            thread::sleep(Duration::from_millis(50));
            stream.write_all(b" world").unwrap();
            String::from_utf8(received).unwrap()
        });
        let response = request(
            addr,
            "POST",
            "/form",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            b"name=x",
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"hello world");
        let received = peer.join().unwrap();
        assert!(received.starts_with("POST /form HTTP/1.1\r\n"));
        assert!(received.contains("Content-Length: 6\r\n"));
        assert!(received.contains("Connection: close\r\n"));
    }
}
