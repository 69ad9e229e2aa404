//! The request body, read by the edge before any handler sees the request: never more than
//! `server.max_body_bytes` of it is held, whatever the protocol says or omits (a declared
//! length, chunks, or HTTP/2 DATA frames with no length at all), and it must arrive whole
//! within `server.body_timeout_seconds`.

use std::time::Duration;

use futures_core::Stream;
use poem::http::Version;
use poem::http::header::{self, HeaderValue};
use poem::{Body, Request, Response};
use tokio::time::Instant;

use crate::middleware::problem_response;
use crate::problem::Problem;
use crate::serve::Stopping;

/// How much of a body may arrive, and how fast.
#[derive(Debug, Clone)]
pub struct BodyLimits {
    /// Bodies larger than this get 413.
    pub max_bytes: usize,
    /// The whole body must arrive within this (408 otherwise).
    pub timeout: Duration,
}

/// Why a body was not read whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Declared or found larger than the limit.
    TooLarge,
    /// Did not arrive within the timeout.
    TooSlow,
    /// The server began to stop while it was arriving.
    Stopping,
    /// The client broke off or sent a malformed body.
    Broken,
}

impl Refusal {
    /// The problem document answering it.
    pub fn response(self, limits: &BodyLimits) -> Response {
        let problem = match self {
            Self::TooLarge => Problem::new(
                413,
                format!("The request body is larger than {} bytes", limits.max_bytes),
            ),
            Self::TooSlow => Problem::new(
                408,
                format!(
                    "The request body did not arrive within {} seconds",
                    limits.timeout.as_secs()
                ),
            ),
            Self::Stopping => Problem::new(503, "The server is stopping; retry"),
            Self::Broken => Problem::new(400, "The request body could not be read"),
        };
        problem_response(&problem)
    }
}

/// Whether an HTTP/1 request carries a body that, unread, would be taken for the next request
/// on its connection. (An HTTP/2 body unread is reset with its own stream.)
pub fn leaves_bytes_on_the_wire(req: &Request) -> bool {
    if req.version() >= Version::HTTP_2 {
        return false;
    }
    let h = req.headers();
    h.contains_key(header::TRANSFER_ENCODING)
        || h.get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
}

/// Asks an HTTP/1 client to open a new connection for its next request: this one's body was
/// left unread.
pub fn close_connection(resp: &mut Response) {
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
}

/// Reads the body whole, within the limits, and puts it back as bytes for the handler.
/// A declared length over the limit is refused before a byte is read.
pub async fn read(
    req: &mut Request,
    limits: &BodyLimits,
    stopping: &Stopping,
) -> Result<(), Refusal> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limits.max_bytes as u64) {
        return Err(Refusal::TooLarge);
    }
    let body = req.take_body();
    if body.is_empty() {
        req.set_body(body);
        return Ok(());
    }
    // Capacity for what was declared, never more than the limit: a lying length costs nothing.
    let capacity = declared.map_or(0, |len| usize::try_from(len).unwrap_or(0));
    let bytes = collect(body, limits, stopping, capacity).await?;
    req.set_body(bytes);
    Ok(())
}

/// Reads the body and throws it away, within the same limits, so that an answer given without
/// it (a 429) leaves the connection usable. `true` when it was read whole.
pub async fn drain(req: &mut Request, limits: &BodyLimits, stopping: &Stopping) -> bool {
    read(req, limits, stopping).await.is_ok()
}

async fn collect(
    body: Body,
    limits: &BodyLimits,
    stopping: &Stopping,
    capacity: usize,
) -> Result<Vec<u8>, Refusal> {
    let deadline = Instant::now() + limits.timeout;
    let mut stopping = stopping.clone();
    let mut chunks = std::pin::pin!(body.into_bytes_stream());
    let mut data = Vec::with_capacity(capacity);
    loop {
        let next = std::future::poll_fn(|cx| chunks.as_mut().poll_next(cx));
        let chunk = tokio::select! {
            chunk = tokio::time::timeout_at(deadline, next) => chunk.map_err(|_| Refusal::TooSlow)?,
            () = stopping.stopped() => return Err(Refusal::Stopping),
        };
        match chunk {
            None => return Ok(data),
            Some(Err(_)) => return Err(Refusal::Broken),
            Some(Ok(chunk)) => {
                // Checked before the chunk is kept: nothing past the limit is ever held.
                if data.len() + chunk.len() > limits.max_bytes {
                    return Err(Refusal::TooLarge);
                }
                data.extend_from_slice(&chunk);
            }
        }
    }
}
