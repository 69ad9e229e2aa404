//! `cargo xtask openapi`: writes the API description the server serves to `docs/openapi.json`.

use std::fs;

use crate::server::{self, Server};
use crate::{Result, cargo, run_command, workspace_root};

/// Builds the debug server, fetches `GET /openapi.json` and writes the body as received.
pub(crate) fn run() -> Result {
    run_command(cargo().args(["build", "-p", "warden-server"]))?;

    let server = Server::start(&server::binary_path("debug"))?;
    let response = server.client().get("/openapi.json")?;
    if response.status != 200 {
        return Err(format!(
            "GET /openapi.json answered {} instead of 200: {}",
            response.status,
            response.body_text_excerpt()
        ));
    }
    server.stop();

    let docs = workspace_root().join("docs");
    fs::create_dir_all(&docs).map_err(|e| format!("could not create {}: {e}", docs.display()))?;
    let path = docs.join("openapi.json");
    fs::write(&path, &response.body)
        .map_err(|e| format!("could not write {}: {e}", path.display()))?;
    println!("wrote {} ({} bytes)", path.display(), response.body.len());
    Ok(())
}
