//! The floor under Warden's edge: a bare poem route answering `GET /health/live` with the same
//! body, and nothing else: no OpenAPI layer, no CORS, rate limits, security headers or access
//! log.
//!
//! `cargo xtask bench` builds this beside the release server and drives both in one run; the
//! ratio of the two rates is the price of the edge. It listens on `WARDEN_SERVER__BIND`, as
//! the server does, so the bench starts both the same way.

use poem::listener::TcpListener;
use poem::web::Json;
use poem::{Route, Server, get, handler};

#[handler]
fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::var("WARDEN_SERVER__BIND").unwrap_or_else(|_| "127.0.0.1:8081".into());
    Server::new(TcpListener::bind(bind))
        .run(Route::new().at("/health/live", get(live)))
        .await
}
