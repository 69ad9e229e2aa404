//! The floor under Warden's edge, for `cargo xtask bench`: Warden's own operations (the same
//! poem-openapi routes and handlers) with none of the edge: no CORS, rate limits, body limit,
//! client IP, security headers or access log. `GET /health/live` here against the same path
//! on the real server is the price of the edge.
//!
//! `GET /plain/health/live` is a bare poem handler with the same body, the floor of the
//! framework itself, reported for reference.
//!
//! It listens on `WARDEN_SERVER__BIND`, as the server does, so the bench starts both the same
//! way.

use poem::listener::TcpListener;
use poem::web::Json;
use poem::{Route, Server, get, handler};
use poem_openapi::OpenApiService;

#[handler]
fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::var("WARDEN_SERVER__BIND").unwrap_or_else(|_| "127.0.0.1:8081".into());
    let api = OpenApiService::new(warden_api::routes::api(), "Warden", "bare");
    let app = Route::new()
        .at("/plain/health/live", get(live))
        .nest("/", api);
    Server::new(TcpListener::bind(bind)).run(app).await
}
