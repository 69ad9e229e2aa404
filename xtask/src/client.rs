//! The one HTTP client of every task: requests to a Warden server, and the calls tasks make to
//! set accounts up on it (register, sign in, refresh, API keys).
//!
//! It is ureq's blocking agent: the tasks run their concurrent clients on threads. The agent
//! keeps no idle connection, so every request opens its own, as the tasks always have: a
//! connection the server closed while it sat idle can never fail a request, and a login's
//! time (`cargo xtask timing`) is measured the same way for every round. The bench's figures
//! are wrk's, not this client's: it only signs the bench in.

use std::fmt::Display;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use ureq::http::{self, HeaderMap};

use crate::Result;

/// How long a login may take: logins queue behind the hashing threads under a flood.
const LOGIN_TIMEOUT: Duration = Duration::from_mins(1);

/// A client of one server; cloning it is cheap and a clone may go to another thread.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    agent: ureq::Agent,
    /// `http://ADDR`, the prefix of every request's path.
    base: String,
}

/// A complete HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    /// The value of the header `name`, if it is there and is text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The body as JSON, or why it is not.
    pub(crate) fn json(&self) -> Result<Value> {
        serde_json::from_slice(&self.body)
            .map_err(|e| format!("not JSON ({e}): {}", self.body_text_excerpt()))
    }

    /// The body as text, cut to a length that fits in an error message.
    pub(crate) fn body_text_excerpt(&self) -> String {
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

impl Client {
    /// A client of the server at `addr` whose requests each give up after `timeout`.
    pub(crate) fn new(addr: SocketAddr, timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            // A status is an answer to look at, not an error.
            .http_status_as_error(false)
            .max_redirects(0)
            .max_idle_connections(0)
            .max_idle_connections_per_host(0)
            .timeout_global(Some(timeout))
            .build()
            .new_agent();
        Self {
            agent,
            base: format!("http://{addr}"),
        }
    }

    /// Sends one request and reads the whole response; a status is never an error here.
    ///
    /// `headers` need not include `Host` or `Content-Length`: they are added. A request other
    /// than GET or HEAD always has a body, if only an empty one.
    pub(crate) fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response> {
        self.send(method, path, headers, body, None)
    }

    /// The absolute URL of `path` on the server.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path` without headers.
    pub(crate) fn get(&self, path: &str) -> Result<Response> {
        self.request("GET", path, &[], b"")
    }

    /// [`Client::request`], with the timeout `longer` instead of the client's if given.
    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        longer: Option<Duration>,
    ) -> Result<Response> {
        let fail = |e: &dyn Display| format!("{method} {path}: {e}");
        let mut builder = http::Request::builder().method(method).uri(self.url(path));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let bodyless = body.is_empty() && matches!(method, "GET" | "HEAD");
        let outcome = if bodyless {
            let request = builder.body(()).map_err(|e| fail(&e))?;
            self.run(request, longer)
        } else {
            let request = builder.body(body).map_err(|e| fail(&e))?;
            self.run(request, longer)
        };
        let mut response = outcome.map_err(|e| fail(&e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        // No limit: the OpenAPI document is the largest body, and it is read whole.
        let body = response
            .body_mut()
            .with_config()
            .read_to_vec()
            .map_err(|e| fail(&e))?;
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    fn run(
        &self,
        request: http::Request<impl ureq::AsSendBody>,
        timeout: Option<Duration>,
    ) -> std::result::Result<http::Response<ureq::Body>, ureq::Error> {
        match timeout {
            None => self.agent.run(request),
            Some(timeout) => {
                let request = self
                    .agent
                    .configure_request(request)
                    .timeout_global(Some(timeout))
                    .build();
                self.agent.run(request)
            }
        }
    }

    /// `POST /auth/register` for an account, whatever it answers.
    pub(crate) fn try_register(&self, email: &str, password: &str) -> Result<Response> {
        let body = json!({ "email": email, "password": password }).to_string();
        self.request(
            "POST",
            "/auth/register",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
    }

    /// Registers an account; anything but 201 is an error.
    pub(crate) fn register(&self, email: &str, password: &str) -> Result {
        let response = self.try_register(email, password)?;
        if response.status == 201 {
            Ok(())
        } else {
            Err(format!(
                "POST /auth/register answered {} instead of 201: {}",
                response.status,
                response.body_text_excerpt()
            ))
        }
    }

    /// Signs in with the password grant and returns the access token.
    pub(crate) fn password_token(&self, email: &str, password: &str) -> Result<String> {
        self.token_pair(&password_form(email, password))
            .map(|(access, _)| access)
    }

    /// `POST /auth/token` with a form, whatever it answers.
    pub(crate) fn try_token(&self, form: &str) -> Result<Response> {
        self.send(
            "POST",
            "/auth/token",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            form.as_bytes(),
            Some(LOGIN_TIMEOUT),
        )
    }

    /// The access and refresh tokens `/auth/token` answers to a form, or why it did not.
    pub(crate) fn token_pair(&self, form: &str) -> Result<(String, String)> {
        let response = self.try_token(form)?;
        let tokens = (response.status == 200)
            .then(|| response.json().ok())
            .flatten()
            .and_then(|json| {
                let field = |name: &str| Some(json.get(name)?.as_str()?.to_owned());
                field("access_token").zip(field("refresh_token"))
            });
        tokens.ok_or_else(|| {
            format!(
                "POST /auth/token answered {}: {}",
                response.status,
                response.body_text_excerpt()
            )
        })
    }

    /// Makes an API key for the account of the access token.
    pub(crate) fn create_api_key(&self, token: &str) -> Result<String> {
        let bearer = format!("Bearer {token}");
        let response = self.request(
            "POST",
            "/api-keys",
            &[
                ("Content-Type", "application/json"),
                ("Authorization", &bearer),
            ],
            br#"{"name":"bench"}"#,
        )?;
        if response.status != 201 {
            return Err(format!(
                "POST /api-keys answered {} instead of 201: {}",
                response.status,
                response.body_text_excerpt()
            ));
        }
        let key = response
            .json()?
            .get("key")
            .and_then(Value::as_str)
            .map(str::to_owned);
        key.ok_or_else(|| {
            format!(
                "no key in the POST /api-keys response: {}",
                response.body_text_excerpt()
            )
        })
    }
}

/// The form body of a password grant (`application/x-www-form-urlencoded`, spaces as `+`).
pub(crate) fn password_form(email: &str, password: &str) -> String {
    serde_urlencoded::to_string([
        ("grant_type", "password"),
        ("username", email),
        ("password", password),
    ])
    .expect("pairs of strings always encode")
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, TcpListener};
    use std::thread;

    use super::*;

    #[test]
    fn encodes_a_password_form() {
        assert_eq!(
            password_form("bench@example.com", "violet tractor hums 42"),
            "grant_type=password&username=bench%40example.com&password=violet+tractor+hums+42"
        );
        assert_eq!(
            password_form("a&b=c", "-._*~"),
            "grant_type=password&username=a%26b%3Dc&password=-._*%7E"
        );
    }

    /// A peer that reads one request (its head and `body_len` body bytes), answers `reply`
    /// and returns what it received.
    fn peer(reply: &'static [u8], body_len: usize) -> (SocketAddr, thread::JoinHandle<String>) {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut received = Vec::new();
            let mut buf = [0_u8; 1024];
            loop {
                let text = String::from_utf8_lossy(&received);
                if let Some(at) = text.find("\r\n\r\n")
                    && received.len() >= at + 4 + body_len
                {
                    break;
                }
                let read = stream.read(&mut buf).unwrap();
                assert_ne!(read, 0, "the client closed early");
                received.extend_from_slice(&buf[..read]);
            }
            // In two pieces, to show the client waits for the whole body.
            let (first, rest) = reply.split_at(reply.len() / 2);
            stream.write_all(first).unwrap();
            stream.flush().unwrap();
            thread::sleep(Duration::from_millis(50));
            stream.write_all(rest).unwrap();
            String::from_utf8(received).unwrap()
        });
        (addr, handle)
    }

    #[test]
    fn sends_a_form_and_reads_a_framed_answer() {
        let (addr, peer) = peer(
            b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-A: b\r\n\r\nhello world",
            6,
        );
        let client = Client::new(addr, Duration::from_secs(5));
        let response = client
            .request(
                "POST",
                "/form",
                &[("Content-Type", "application/x-www-form-urlencoded")],
                b"name=x",
            )
            .unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"hello world");
        assert_eq!(response.header("x-a"), Some("b"));
        let received = peer.join().unwrap();
        assert!(
            received.starts_with("POST /form HTTP/1.1\r\n"),
            "{received}"
        );
        assert!(
            received
                .to_ascii_lowercase()
                .contains("content-length: 6\r\n"),
            "{received}"
        );
        assert!(received.ends_with("\r\n\r\nname=x"), "{received}");
    }

    #[test]
    fn an_error_status_is_an_answer_and_a_chunked_body_is_decoded() {
        let (addr, peer) = peer(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n\
              Transfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
            0,
        );
        let response = Client::new(addr, Duration::from_secs(5))
            .get("/health/ready")
            .unwrap();
        assert_eq!(response.status, 503);
        assert_eq!(
            response.header("Content-Type"),
            Some("application/problem+json")
        );
        assert_eq!(response.body, b"hello world");
        assert!(
            peer.join()
                .unwrap()
                .starts_with("GET /health/ready HTTP/1.1\r\n")
        );
    }

    #[test]
    fn a_redirect_is_not_followed() {
        let (addr, peer) = peer(
            b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n",
            0,
        );
        let response = Client::new(addr, Duration::from_secs(5)).get("/").unwrap();
        assert_eq!(response.status, 302);
        assert_eq!(response.header("location"), Some("/elsewhere"));
        peer.join().unwrap();
    }

    #[test]
    fn reads_the_token_pair_and_refuses_an_answer_without_it() {
        let (addr, answered) = peer(
            b"HTTP/1.1 200 OK\r\nContent-Length: 52\r\n\r\n\
              {\"access_token\":\"eyJ.a-b_c.d\",\"refresh_token\":\"r.t\"}",
            12,
        );
        let client = Client::new(addr, Duration::from_secs(5));
        assert_eq!(
            client.token_pair("grant_type=x").unwrap(),
            ("eyJ.a-b_c.d".to_owned(), "r.t".to_owned())
        );
        answered.join().unwrap();
        let (addr, refusing) = peer(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 25\r\n\r\n{\"error\":\"invalid_grant\"}",
            12,
        );
        let refused = Client::new(addr, Duration::from_secs(5))
            .token_pair("grant_type=x")
            .unwrap_err();
        assert!(refused.contains("answered 400"), "{refused}");
        refusing.join().unwrap();
    }
}
