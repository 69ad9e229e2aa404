//! End-to-end tests live in `e2e/`: one test binary whose modules share `spawn_app()`.
