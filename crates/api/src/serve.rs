//! The server loop: accepts TCP connections up to `server.max_connections`, serves each with
//! hyper (HTTP/1.1, and h2c with prior knowledge) under the slow-client timeouts of
//! [`crate::connection`], and stops gracefully.
//!
//! poem's own `Server` offers only an idle timeout and no cap, and it cannot tell its sockets
//! when requests start and end; this loop is the same hyper-util connection builder with
//! those pieces added.
//!
//! Past the cap a new connection is accepted and closed at once, before a byte is read or
//! written, so the client learns at once instead of waiting in the listen backlog; connections
//! already open keep being served.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tracing::{debug, warn};

use crate::connection::{Activity, ConnectionTimeouts, Guarded};

/// How long to wait before accepting again after `accept` failed (out of file descriptors,
/// say), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The limits of the server loop.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// Open connections at most.
    pub max_connections: usize,
    /// The per-connection timeouts.
    pub timeouts: ConnectionTimeouts,
    /// After the stop signal, how long requests in flight may take to finish.
    pub grace: Duration,
}

/// Tells whoever holds it that the server is stopping.
#[derive(Debug, Clone)]
pub struct Stopping(watch::Receiver<bool>);

impl Stopping {
    /// A pair: the handle that stops, and the receivers to hand out.
    pub fn channel() -> (watch::Sender<bool>, Self) {
        let (tx, rx) = watch::channel(false);
        (tx, Self(rx))
    }

    /// A receiver that never sees a stop (for endpoints served by something else).
    pub fn never() -> Self {
        let (tx, rx) = watch::channel(false);
        // The sender is dropped: `stopped` then waits for ever.
        drop(tx);
        Self(rx)
    }

    /// Resolves once the server is stopping; never, if nobody can stop it.
    pub async fn stopped(&mut self) {
        if self.0.wait_for(|stopping| *stopping).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Serves `ep` on `listener` until `stop` resolves, then tells every connection through
/// `stopper` and lets requests in flight finish for at most `limits.grace`.
pub async fn serve<E>(
    listener: TcpListener,
    ep: E,
    limits: ServeLimits,
    stop: impl Future<Output = ()>,
    stopper: watch::Sender<bool>,
) -> std::io::Result<()>
where
    E: Endpoint + 'static,
{
    let ep = Arc::new(ep);
    let local = listener.local_addr()?;
    // The semaphore's size is validated to fit in u32 (`server.max_connections`).
    let max = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let permits = Arc::new(Semaphore::new(max as usize));
    let stopping = Stopping(stopper.subscribe());
    let mut saturated = false;
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        warn!(error = %e, "accept failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    // Closed at once: dropped before any byte is read or written.
                    drop(stream);
                    if !saturated {
                        warn!(max_connections = max, "connection cap reached: refusing new connections");
                        saturated = true;
                    }
                    continue;
                };
                saturated = false;
                let ep = ep.clone();
                let stopping = stopping.clone();
                tokio::spawn(async move {
                    serve_connection(stream, local, peer, ep, limits.timeouts, stopping).await;
                    drop(permit);
                });
            }
        }
    }
    drop(listener);
    // Receivers are still held by the connections, so this cannot fail while any is open.
    let _ = stopper.send(true);
    if tokio::time::timeout(limits.grace, permits.acquire_many(max))
        .await
        .is_err()
    {
        warn!(
            grace_seconds = limits.grace.as_secs(),
            "requests still in flight after the grace period"
        );
    }
    Ok(())
}

async fn serve_connection<E: Endpoint + 'static>(
    stream: TcpStream,
    local: SocketAddr,
    peer: SocketAddr,
    ep: Arc<E>,
    timeouts: ConnectionTimeouts,
    mut stopping: Stopping,
) {
    // Small answers go out at once rather than waiting on Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::default());
    let io = TokioIo::new(Guarded::new(stream, activity.clone(), timeouts));
    let on_stop = activity.clone();
    let local = LocalAddr(Addr::SocketAddr(local));
    let remote = RemoteAddr(Addr::SocketAddr(peer));
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let in_flight = activity.begin();
        let ep = ep.clone();
        let request = poem::Request::from((req, local.clone(), remote.clone(), Scheme::HTTP));
        async move {
            let resp = ep.get_response(request).await;
            drop(in_flight);
            Ok::<_, Infallible>(hyper::Response::from(resp))
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The HTTP/2 settings poem's own server uses.
    builder
        .http2()
        .max_pending_accept_reset_streams(20)
        .max_header_list_size(16_384);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        served = conn.as_mut() => {
            if let Err(e) = served {
                debug!(remote_addr = %peer, error = %e, "connection ended with an error");
            }
        }
        () = stopping.stopped() => {
            // Idle connections and those still sending a request head close at once;
            // requests in flight finish (a body still arriving is cut short by the edge).
            on_stop.stop();
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
