//! One client connection's clock: the socket wrapper that closes a connection whose request
//! head does not arrive in time, or that stays idle too long between requests, and that
//! lingers briefly on close so a client still sending gets its answer instead of a reset.
//!
//! The wrapper sees bytes, not requests; the service tells it when requests start and end
//! through [`Activity`]. A connection is in one of three phases:
//!
//! - *head*: bytes of a request may be arriving (a fresh connection starts here, and an idle
//!   one enters it with its first byte); the whole head must arrive within the header timeout,
//!   however slowly it trickles;
//! - *busy*: at least one request is being served; the edge bounds the body's arrival and the
//!   storage bounds the work, so no timer of this file runs;
//! - *idle*: no request in flight; after the keep-alive timeout without a byte read the
//!   connection is closed. Bytes written (a response still going out) restart that clock.
//!
//! The same rules hold for HTTP/1.1 and h2c: an h2c client that keeps a connection busy with
//! pings or settings but sends no request is closed at the header timeout.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// How long a closing connection keeps reading (and discarding) what the client still sends,
/// so that the kernel does not answer it with a reset that destroys the response.
const LINGER: Duration = Duration::from_secs(1);
/// At most this much is read and discarded while lingering.
const LINGER_BYTES: usize = 256 * 1024;

/// The timeouts of a connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionTimeouts {
    /// The whole request head must arrive within this.
    pub header: Duration,
    /// A connection with no request in flight is closed after this long without a byte read.
    pub keep_alive: Duration,
}

/// What the service tells a connection's socket: how many requests are in flight.
#[derive(Debug, Default)]
pub struct Activity {
    in_flight: AtomicUsize,
    /// Bumped each time the last request in flight ends, so the socket sees an end even when
    /// a request started and finished between two of its polls.
    ends: AtomicU64,
    /// The server is stopping: once no request is in flight, the connection ends.
    stopping: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Activity {
    /// Marks a request as started; it ends when the returned guard is dropped.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }

    /// The server is stopping: a connection still receiving a request head (or that has sent
    /// nothing yet) ends at once; hyper's graceful shutdown would wait for that head.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        self.wake();
    }

    fn wake(&self) {
        let waker = self
            .waker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn remember(&self, cx: &Context<'_>) {
        let mut slot = self
            .waker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match slot.as_ref() {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => *slot = Some(cx.waker().clone()),
        }
    }
}

/// A request in flight on a connection.
#[derive(Debug)]
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.ends.fetch_add(1, Ordering::AcqRel);
            // Wake the connection so its idle clock starts now, not at its next byte.
            self.0.wake();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Head,
    Busy,
    Idle,
}

/// A socket that enforces [`ConnectionTimeouts`].
#[derive(Debug)]
pub struct Guarded<T> {
    inner: T,
    activity: Arc<Activity>,
    timeouts: ConnectionTimeouts,
    phase: Phase,
    ends_seen: u64,
    timer: Pin<Box<Sleep>>,
    /// Bytes discarded so far while lingering, once the write side is shut.
    lingered: Option<usize>,
}

impl<T> Guarded<T> {
    /// Wraps a freshly accepted socket: its first request head is due within the header timeout.
    pub fn new(inner: T, activity: Arc<Activity>, timeouts: ConnectionTimeouts) -> Self {
        Self {
            inner,
            activity,
            timeouts,
            phase: Phase::Head,
            ends_seen: 0,
            timer: Box::pin(tokio::time::sleep(timeouts.header)),
            lingered: None,
        }
    }

    /// Brings the phase up to date with the service and fails once the phase's time is up.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        self.activity.remember(cx);
        let busy = self.activity.in_flight.load(Ordering::Acquire) > 0;
        let ends = self.activity.ends.load(Ordering::Acquire);
        if busy {
            self.phase = Phase::Busy;
            self.ends_seen = ends;
            return Ok(());
        }
        if self.phase == Phase::Busy || ends != self.ends_seen {
            self.ends_seen = ends;
            self.enter(Phase::Idle);
        }
        // Only a request not yet handed to the service is cut: an idle connection may still
        // be writing its last answer, and hyper's graceful shutdown closes it after that.
        if self.phase == Phase::Head && self.activity.stopping.load(Ordering::Acquire) {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the server is stopping",
            ));
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                match self.phase {
                    Phase::Head => "the request head did not arrive in time",
                    _ => "the connection was idle too long",
                },
            )),
            Poll::Pending => Ok(()),
        }
    }

    fn enter(&mut self, phase: Phase) {
        self.phase = phase;
        let after = match phase {
            Phase::Head => self.timeouts.header,
            Phase::Idle | Phase::Busy => self.timeouts.keep_alive,
        };
        self.timer.as_mut().reset(Instant::now() + after);
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Guarded<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before && this.phase == Phase::Idle {
                    // The first byte of a new request: its head is now due.
                    this.enter(Phase::Head);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.check(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                if n > 0 && this.phase == Phase::Idle {
                    // A response still going out to a slow reader: it is not idle.
                    this.enter(Phase::Idle);
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.check(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    /// Shuts the write side, then reads and discards what the client still sends, until it
    /// closes, [`LINGER`] passes or [`LINGER_BYTES`] have come.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.lingered.is_none() {
            if let Err(e) = std::task::ready!(Pin::new(&mut this.inner).poll_shutdown(cx)) {
                return Poll::Ready(Err(e));
            }
            this.lingered = Some(0);
            this.timer.as_mut().reset(Instant::now() + LINGER);
        }
        let mut scratch = [0_u8; 4096];
        loop {
            if this.timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(()));
            }
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.inner).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                    let total = this.lingered.unwrap_or(0) + buf.filled().len();
                    if total > LINGER_BYTES {
                        return Poll::Ready(Ok(()));
                    }
                    this.lingered = Some(total);
                }
                Poll::Ready(_) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
