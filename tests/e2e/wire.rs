//! Tools for tests of the edge below reqwest: raw HTTP/1.1 over a TCP socket (half-sent heads,
//! lying lengths, several requests on one connection), an h2c client, bodies that trickle or
//! never end, and the resident memory of this process (the test apps run in it).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An HTTP/1.1 answer read off the wire.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    /// The head, lower-cased.
    pub head: String,
}

impl Answer {
    /// Whether the head has this header line (lower-case `name: value`).
    pub(crate) fn has(&self, line: &str) -> bool {
        self.head.lines().any(|l| l.trim() == line)
    }
}

/// A raw HTTP/1.1 connection.
pub(crate) struct Wire {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Wire {
    /// Connects to the app at `address` (`http://127.0.0.1:PORT`).
    pub(crate) async fn connect(address: &str) -> Self {
        let host = address.trim_start_matches("http://");
        Self {
            stream: TcpStream::connect(host).await.unwrap(),
            buf: Vec::new(),
        }
    }

    /// Connects, or says why not.
    pub(crate) async fn connect_checked(address: &str) -> std::io::Result<Self> {
        let host = address.trim_start_matches("http://");
        Ok(Self {
            stream: TcpStream::connect(host).await?,
            buf: Vec::new(),
        })
    }

    /// Sends these bytes as they are.
    pub(crate) async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Reads one answer (head and `Content-Length` body), or `None` if the server closed first
    /// or nothing came within `within`.
    pub(crate) async fn answer(&mut self, within: Duration) -> Option<Answer> {
        tokio::time::timeout(within, self.read_answer())
            .await
            .ok()
            .flatten()
    }

    async fn read_answer(&mut self) -> Option<Answer> {
        let end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if !self.fill().await {
                return None;
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..end]).to_lowercase();
        let status = head.get(9..12)?.parse().ok()?;
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap());
        while self.buf.len() < end + length {
            if !self.fill().await {
                return None;
            }
        }
        self.buf.drain(..end + length);
        Some(Answer { status, head })
    }

    async fn fill(&mut self) -> bool {
        let mut chunk = [0_u8; 8192];
        match self.stream.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// How long until the server closes the connection (EOF or reset), reading and discarding
    /// whatever comes; `None` if it is still open after `within`.
    pub(crate) async fn closed_within(&mut self, within: Duration) -> Option<Duration> {
        let started = Instant::now();
        let mut chunk = [0_u8; 8192];
        let closed = tokio::time::timeout(within, async {
            loop {
                match self.stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        closed.ok().map(|()| started.elapsed())
    }
}

/// A request head with `Host` and these extra header lines, then a blank line.
pub(crate) fn head(method: &str, path: &str, extra: &[&str]) -> Vec<u8> {
    let mut h = format!("{method} {path} HTTP/1.1\r\nHost: warden.test\r\n");
    for line in extra {
        h.push_str(line);
        h.push_str("\r\n");
    }
    h.push_str("\r\n");
    h.into_bytes()
}

/// A client that speaks only HTTP/2 over cleartext (h2c with prior knowledge).
pub(crate) fn h2c_client() -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap()
}

/// A body of `total` bytes (`token=aaa…`, a valid form) made as it is sent, in chunks, with
/// no length declared; with `stall`, it stops after `total` bytes and never ends.
pub(crate) fn streamed_form(total: usize, stall: bool) -> reqwest::Body {
    reqwest::Body::wrap_stream(Trickle {
        sent: 0,
        total,
        stall,
    })
}

struct Trickle {
    sent: usize,
    total: usize,
    stall: bool,
}

const CHUNK: usize = 16 * 1024;

impl futures_core::Stream for Trickle {
    type Item = Result<Vec<u8>, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.sent >= self.total {
            // A stalled body neither ends nor wakes: the server must give up on it.
            return if self.stall {
                Poll::Pending
            } else {
                Poll::Ready(None)
            };
        }
        let n = CHUNK.min(self.total - self.sent);
        let mut chunk = vec![b'a'; n];
        if self.sent == 0 {
            chunk[..6.min(n)].copy_from_slice(&b"token="[..6.min(n)]);
        }
        self.sent += n;
        Poll::Ready(Some(Ok(chunk)))
    }
}

/// A form body of exactly `n` bytes (`token=aaa…`).
pub(crate) fn form_of(n: usize) -> Vec<u8> {
    let mut body = vec![b'a'; n];
    body[..6].copy_from_slice(b"token=");
    body
}

/// This process's resident memory, in KiB.
pub(crate) fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// The most this process's resident memory grew above its level at the start while `work`
/// ran, sampled every 2 ms (memory freed at the end would hide a peak from a before/after
/// comparison), in KiB; and the work's output.
pub(crate) async fn rss_growth_during<T>(work: impl Future<Output = T>) -> (u64, T) {
    let start = rss_kib();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = tokio::spawn({
        let done = done.clone();
        async move {
            let mut peak = start;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_kib());
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            peak.max(rss_kib())
        }
    });
    let out = work.await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.await.unwrap();
    (peak.saturating_sub(start), out)
}

/// The median of some durations.
pub(crate) fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}
