//! How a client presents itself at the token, introspection and revocation endpoints
//! (RFC 6749 §2.3.1): `client_secret_basic` (HTTP Basic, each part form-urlencoded first) or
//! `client_secret_post` (`client_id` and `client_secret` in the form), never both.

use percent_encoding::percent_decode_str;
use poem::Request;
use poem::http::header::AUTHORIZATION;
use poem::web::headers::authorization::Basic;
use poem::web::headers::{Authorization, HeaderMapExt};
use secrecy::SecretString;
use warden_domain::clients::ClientAuth;

/// The challenge of a 401 `invalid_client` (RFC 6749 §5.2).
pub const BASIC_CHALLENGE: &str = "Basic realm=\"warden\", charset=\"UTF-8\"";

/// Why the credentials a request carries cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unreadable {
    /// Two methods at once, or a secret without its id (`invalid_request`).
    Ambiguous,
    /// An `Authorization: Basic` header that does not decode (`invalid_client`).
    Malformed,
}

/// The client credentials of a request: from its `Authorization: Basic` header, or from the
/// form's `client_id` and `client_secret`; `None` when it carries none. Empty form values count
/// as absent.
///
/// # Errors
/// [`Unreadable`].
pub fn presented(
    req: &Request,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<Option<ClientAuth>, Unreadable> {
    let form_id = form_id.filter(|v| !v.is_empty());
    let form_secret = form_secret.filter(|v| !v.is_empty());
    let basic = basic(req)?;
    match (basic, form_id, form_secret) {
        (Some(_), _, Some(_)) | (None, None, Some(_)) => Err(Unreadable::Ambiguous),
        (Some(basic), Some(id), None) if id != basic.id => Err(Unreadable::Ambiguous),
        (Some(basic), _, None) => Ok(Some(basic)),
        (None, Some(id), secret) => Ok(Some(ClientAuth {
            id: id.to_owned(),
            secret: secret.map(|s| SecretString::from(s.to_owned())),
        })),
        (None, None, None) => Ok(None),
    }
}

/// The credentials of an `Authorization: Basic` header, if it has one; a header of another
/// scheme (a bearer token) is none.
fn basic(req: &Request) -> Result<Option<ClientAuth>, Unreadable> {
    let Some(header) = req.headers().get(AUTHORIZATION) else {
        return Ok(None);
    };
    let bytes = header.as_bytes();
    let scheme = bytes.split(|b| *b == b' ').next().unwrap_or_default();
    let is_basic = scheme.eq_ignore_ascii_case(b"basic");
    if !is_basic {
        return Ok(None);
    }
    let decoded = req
        .headers()
        .typed_get::<Authorization<Basic>>()
        .ok_or(Unreadable::Malformed)?;
    let id = form_decoded(decoded.username()).ok_or(Unreadable::Malformed)?;
    let secret = form_decoded(decoded.password()).ok_or(Unreadable::Malformed)?;
    match (id.is_empty(), secret.is_empty()) {
        // `Basic Og==` (":"): what Swagger UI sends when no client is filled in.
        (true, true) => return Ok(None),
        (true, false) => return Err(Unreadable::Malformed),
        (false, _) => {}
    }
    Ok(Some(ClientAuth {
        id,
        secret: (!secret.is_empty()).then(|| SecretString::from(secret)),
    }))
}

/// `application/x-www-form-urlencoded` decoding of one value (`+` is a space), if it is UTF-8.
fn form_decoded(value: &str) -> Option<String> {
    let spaced = value.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
}

#[cfg(test)]
mod tests {
    use poem::http::HeaderValue;
    use secrecy::ExposeSecret;

    use super::*;

    fn with_basic(value: &str) -> Request {
        let mut req = Request::default();
        req.headers_mut()
            .insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        req
    }

    fn b64(text: &str) -> String {
        use std::fmt::Write as _;
        // A tiny base64 encoder for the tests, so the crate needs no base64 dependency.
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in text.as_bytes().chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    let _ = write!(out, "{}", T[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    fn seen(r: Result<Option<ClientAuth>, Unreadable>) -> Option<(String, Option<String>)> {
        r.unwrap()
            .map(|a| (a.id, a.secret.map(|s| s.expose_secret().to_owned())))
    }

    #[test]
    fn basic_credentials_are_form_decoded_after_base64() {
        let req = with_basic(&format!("Basic {}", b64("my%20app:s%3Ac+r%2Bt")));
        let got = seen(presented(&req, None, None));
        assert_eq!(got, Some(("my app".into(), Some("s:c r+t".into()))));
        let req = with_basic(&format!("bAsIc {}", b64("app:")));
        assert_eq!(
            seen(presented(&req, None, None)),
            Some(("app".into(), None))
        );
    }

    #[test]
    fn form_credentials_are_taken_as_sent_and_empty_ones_are_absent() {
        let req = Request::default();
        let got = seen(presented(&req, Some("app"), Some("s")));
        assert_eq!(got, Some(("app".into(), Some("s".into()))));
        assert_eq!(
            seen(presented(&req, Some("app"), Some(""))),
            Some(("app".into(), None))
        );
        assert_eq!(seen(presented(&req, Some(""), None)), None);
        assert_eq!(seen(presented(&req, None, None)), None);
        let bearer = with_basic("Bearer abc");
        assert_eq!(seen(presented(&bearer, None, None)), None);
        let nobody = with_basic(&format!("Basic {}", b64(":")));
        assert_eq!(
            seen(presented(&nobody, None, None)),
            None,
            "Swagger UI's empty client"
        );
        let form = seen(presented(&nobody, Some("app"), None));
        assert_eq!(form, Some(("app".into(), None)));
    }

    #[test]
    fn two_methods_or_a_secret_alone_are_ambiguous() {
        let req = with_basic(&format!("Basic {}", b64("app:s")));
        let both = presented(&req, Some("app"), Some("s"));
        assert_eq!(both.err(), Some(Unreadable::Ambiguous));
        let other = presented(&req, Some("other"), None);
        assert_eq!(other.err(), Some(Unreadable::Ambiguous));
        assert!(
            presented(&req, Some("app"), None).is_ok(),
            "the same id twice is fine"
        );
        let alone = presented(&Request::default(), None, Some("s"));
        assert_eq!(alone.err(), Some(Unreadable::Ambiguous));
    }

    #[test]
    fn a_basic_header_that_does_not_decode_is_malformed() {
        for bad in [
            "Basic !!!".to_owned(),
            format!("Basic {}", b64("no-colon")),
            format!("Basic {}", b64(":secret")),
            format!("Basic {}", b64("app:%ff")),
            "Basic".to_owned(),
        ] {
            let got = presented(&with_basic(&bad), None, None);
            assert_eq!(got.err(), Some(Unreadable::Malformed), "{bad}");
        }
    }
}
