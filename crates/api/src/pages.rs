//! The account pages a mail's links open: `GET /account/verify?token=…` and
//! `GET /account/reset?token=…`, each a small server-rendered form that POSTs to itself.
//!
//! - A GET never uses a token (mail scanners follow links); only the form's POST does.
//! - No script, no style, nothing fetched: the edge sends them with a CSP of
//!   `default-src 'none'; form-action 'self'`, `Referrer-Policy: no-referrer` and
//!   `Cache-Control: no-store`, so that the token in the address leaks nowhere.
//! - The forms need no CSRF token: what they change is decided by the token they carry,
//!   which a forger would have to have (and a forged post of one's own token changes one's own
//!   account).

use std::sync::{Arc, LazyLock};

use minijinja::{Environment, Value, context};
use poem::http::StatusCode;
use poem::web::Html;
use poem::{IntoResponse, Request, Response, Route, handler};
use secrecy::SecretString;
use serde::Deserialize;
use warden_domain::Error;
use warden_domain::recovery::token_shaped;

use crate::client_ip::origin;
use crate::state::AppState;

/// The templates, built in.
static PAGES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, text) in [
        ("page_layout.html", include_str!("pages/page_layout.html")),
        ("page_verify.html", include_str!("pages/page_verify.html")),
        ("page_reset.html", include_str!("pages/page_reset.html")),
        ("page_result.html", include_str!("pages/page_result.html")),
    ] {
        // Built-in templates that parse: a test renders each.
        if let Err(e) = env.add_template(name, text) {
            tracing::error!(template = name, error = %e, "a built-in page does not parse");
        }
    }
    env
});

/// The account pages' routes.
pub fn routes() -> Route {
    Route::new()
        .at("/verify", poem::get(verify_form).post(verify))
        .at("/reset", poem::get(reset_form).post(reset))
}

/// A page with its status.
fn page(status: StatusCode, name: &str, values: Value) -> Response {
    match PAGES.get_template(name).and_then(|t| t.render(values)) {
        Ok(html) => Html(html).with_status(status).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "a page could not be rendered");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn result(status: StatusCode, title: &str, message: &str) -> Response {
    page(status, "page_result.html", context! { title, message })
}

fn invalid_link() -> Response {
    result(
        StatusCode::BAD_REQUEST,
        "This link does not work",
        "The link is invalid, used already, replaced by a newer one, or expired. Ask for a new one.",
    )
}

/// What a failure of the use case shows: never the input, never the error's text.
fn failed(e: Error) -> Response {
    match e {
        Error::InvalidAccountToken => invalid_link(),
        Error::EmailTaken => result(
            StatusCode::CONFLICT,
            "This address is taken",
            "Another account uses this address now, so it cannot become yours.",
        ),
        Error::Unavailable(_) => result(
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again later",
            "The service cannot complete this right now.",
        ),
        e => {
            tracing::error!(error = %e.with_causes(), "an account page failed");
            result(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The service could not complete this.",
            )
        }
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

#[derive(Deserialize)]
struct VerifyForm {
    token: String,
}

#[derive(Deserialize)]
struct ResetForm {
    token: String,
    new_password: String,
}

/// The link's token, if it has one that can be ours.
fn query_token(req: &Request) -> Option<String> {
    let query: TokenQuery = serde_urlencoded::from_str(req.uri().query().unwrap_or("")).ok()?;
    query.token.filter(|t| token_shaped(t))
}

fn state(req: &Request) -> Option<&Arc<AppState>> {
    req.data::<Arc<AppState>>()
}

#[handler]
fn verify_form(req: &Request) -> Response {
    match query_token(req) {
        Some(token) => page(
            StatusCode::OK,
            "page_verify.html",
            context! { title => "Verify your email address", token },
        ),
        None => invalid_link(),
    }
}

#[handler]
async fn verify(req: &Request, body: Vec<u8>) -> Response {
    let (Some(state), Ok(form)) = (
        state(req),
        serde_urlencoded::from_bytes::<VerifyForm>(&body),
    ) else {
        return invalid_link();
    };
    match state
        .services
        .recovery
        .verify_email(&form.token, &origin(req))
        .await
    {
        Ok(()) => result(
            StatusCode::OK,
            "Address verified",
            "Your address is verified. You can close this page.",
        ),
        Err(e) => failed(e),
    }
}

#[handler]
fn reset_form(req: &Request) -> Response {
    match query_token(req) {
        Some(token) => page(
            StatusCode::OK,
            "page_reset.html",
            context! { title => "Choose a new password", token },
        ),
        None => invalid_link(),
    }
}

#[handler]
async fn reset(req: &Request, body: Vec<u8>) -> Response {
    let (Some(state), Ok(form)) = (state(req), serde_urlencoded::from_bytes::<ResetForm>(&body))
    else {
        return invalid_link();
    };
    let outcome = state
        .services
        .recovery
        .reset_password(
            &form.token,
            SecretString::from(form.new_password),
            &origin(req),
        )
        .await;
    match outcome {
        Ok(()) => result(
            StatusCode::OK,
            "Password changed",
            "Your password has been changed. Every session was signed out; sign in with the new password.",
        ),
        // The link still works: the form again, with every reason, and the token it carried.
        Err(Error::Invalid(errors)) if token_shaped(&form.token) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "page_reset.html",
            context! { title => "Choose a new password", token => form.token, errors },
        ),
        Err(e) => failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_renders_and_escapes_what_it_shows() {
        let token = "A".repeat(43);
        for name in ["page_verify.html", "page_reset.html"] {
            let html = PAGES
                .get_template(name)
                .unwrap()
                .render(
                    context! { title => "T", token => token.clone(), errors => vec!["<b>x</b>"] },
                )
                .unwrap();
            assert!(html.contains(&"A".repeat(43)) && html.contains("method=\"post\""));
            assert!(
                html.contains("&lt;b&gt;x") && !html.contains("<b>x"),
                "{name}"
            );
            assert!(
                !html.contains("<script") && !html.contains("style="),
                "{name}"
            );
        }
        let html = PAGES
            .get_template("page_result.html")
            .unwrap()
            .render(context! { title => "T", message => "<i>m</i>" })
            .unwrap();
        assert!(html.contains("&lt;i&gt;m") && html.contains("role=\"status\""));
    }
}
