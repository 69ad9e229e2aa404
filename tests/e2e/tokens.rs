//! Forged and mismatched bearer tokens, built with jsonwebtoken directly, all refused with 401.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::helpers::{SECRET, assert_unauthorized, spawn_app, spawn_app_with};

const INVALID: &str = "Bearer error=\"invalid_token\"";

/// Whom a hand-made token names: a user (`sub`) and a session of it (`sid`).
struct Subject {
    sub: String,
    sid: String,
}

impl Subject {
    /// The user and the live session of a token the server issued.
    fn of(token: &str) -> Self {
        let claims = jsonwebtoken::dangerous::insecure_decode::<Value>(token)
            .unwrap()
            .claims;
        Self {
            sub: claims["sub"].as_str().unwrap().to_owned(),
            sid: claims["sid"].as_str().unwrap().to_owned(),
        }
    }

    /// A subject with a live session's id but another `sub`.
    fn as_user(&self, sub: &str) -> Self {
        Self {
            sub: sub.to_owned(),
            sid: self.sid.clone(),
        }
    }
}

fn claims(who: &Subject, iss: &str, aud: &str, exp_offset: i64) -> Value {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    json!({
        "iss": iss, "aud": aud, "sub": who.sub, "exp": now + exp_offset, "iat": now,
        "jti": uuid::Uuid::new_v4().to_string(), "role": "admin", "sv": 0, "sid": who.sid
    })
}

fn sign(typ: Option<&str>, claims: &Value, key: &[u8]) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.typ = typ.map(str::to_owned);
    encode(&header, claims, &EncodingKey::from_secret(key)).unwrap()
}

#[tokio::test]
async fn a_well_formed_token_with_the_right_key_is_accepted() {
    // The control case: the forgeries below differ from this in one way each.
    let app = spawn_app().await;
    let (_, issued) = app.user_with_token("olga@example.com").await;
    let sub = &Subject::of(&issued);
    let token = sign(
        Some("at+jwt"),
        &claims(sub, "warden", "warden", 600),
        SECRET.as_bytes(),
    );
    assert_eq!(app.get_with_token("/users/me", &token).await.status(), 200);
}

#[tokio::test]
async fn forged_expired_and_mismatched_tokens_get_401_invalid_token() {
    let app = spawn_app().await;
    let (_, good) = app.user_with_token("pam@example.com").await;
    let sub = &Subject::of(&good);
    let key = SECRET.as_bytes();

    let mut tampered = good.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    let (h, rest) = good.split_once('.').unwrap();
    let (p, _) = rest.split_once('.').unwrap();
    let mut payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap();
    payload["role"] = json!("admin");
    let swapped_payload = format!(
        "{h}.{}.{}",
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        rest.split_once('.').unwrap().1
    );
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt"}"#),
        URL_SAFE_NO_PAD.encode(claims(sub, "warden", "warden", 600).to_string())
    );

    let forgeries = [
        ("tampered signature", tampered),
        ("payload swapped under the signature", swapped_payload),
        ("alg none", alg_none),
        (
            "wrong key",
            sign(
                Some("at+jwt"),
                &claims(sub, "warden", "warden", 600),
                b"a-different-key-that-is-long-enough-1",
            ),
        ),
        (
            "expired",
            sign(Some("at+jwt"), &claims(sub, "warden", "warden", -120), key),
        ),
        (
            "wrong issuer",
            sign(
                Some("at+jwt"),
                &claims(sub, "someone-else", "warden", 600),
                key,
            ),
        ),
        (
            "wrong audience",
            sign(
                Some("at+jwt"),
                &claims(sub, "warden", "another-api", 600),
                key,
            ),
        ),
        (
            "typ JWT",
            sign(Some("JWT"), &claims(sub, "warden", "warden", 600), key),
        ),
        (
            "no typ",
            sign(None, &claims(sub, "warden", "warden", 600), key),
        ),
        (
            "unknown subject",
            sign(
                Some("at+jwt"),
                &claims(
                    &sub.as_user(&uuid::Uuid::now_v7().to_string()),
                    "warden",
                    "warden",
                    600,
                ),
                key,
            ),
        ),
        (
            "subject not a uuid",
            sign(
                Some("at+jwt"),
                &claims(&sub.as_user("admin"), "warden", "warden", 600),
                key,
            ),
        ),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (name, token) in forgeries {
        let r = app.get_with_token("/users/me", &token).await;
        assert_eq!(r.status(), 401, "{name}");
        assert_unauthorized(r, INVALID).await;
    }
}

#[tokio::test]
async fn a_token_from_an_instance_with_another_issuer_or_audience_is_refused() {
    let a = spawn_app_with(|s| s.jwt.issuer = Some("https://auth.a.example".into())).await;
    let (_, token) = a.user_with_token("quinn@example.com").await;
    assert_eq!(a.get_with_token("/users/me", &token).await.status(), 200);
    // Same key and same user id space, different issuer: refused.
    let b = spawn_app().await;
    assert_unauthorized(b.get_with_token("/users/me", &token).await, INVALID).await;
}

#[tokio::test]
async fn eddsa_tokens_name_their_key_in_the_published_jwks() {
    let keys = warden_adapters::keys::generate_ed25519();
    let dir = std::env::temp_dir().join(format!("warden-ed-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("signing.pem");
    std::fs::write(&path, secrecy::ExposeSecret::expose_secret(&keys.private)).unwrap();
    let app = spawn_app_with(|s| {
        s.jwt.algorithm = warden_adapters::settings::JwtAlgorithm::EdDSA;
        s.jwt.secret = None;
        s.jwt.private_key_file = Some(path.clone());
    })
    .await;
    let (_, token) = app.user_with_token("rae@example.com").await;
    assert_eq!(app.get_with_token("/users/me", &token).await.status(), 200);
    let jwks: Value = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(jwks["keys"][0]["kid"].as_str(), header.kid.as_deref());
    assert!(jwks["keys"][0].get("d").is_none());
    verify_elsewhere(&jwks, &token);
    // An HS256 token, even with a valid-looking claim set, is refused: the header never picks.
    let hs = sign(
        Some("at+jwt"),
        &claims(&Subject::of(&token), "warden", "warden", 600),
        SECRET.as_bytes(),
    );
    assert_unauthorized(app.get_with_token("/users/me", &hs).await, INVALID).await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Verifies the token with jwt-compact, an independent JWT library, using the key the JWKS
/// publishes under the token's `kid`; a token with another signature must fail there too.
fn verify_elsewhere(jwks: &Value, token: &str) {
    use jwt_compact::alg::Ed25519;
    use jwt_compact::jwk::JsonWebKey;
    use jwt_compact::{AlgorithmExt as _, Token, UntrustedToken};
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let published = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap();
    let jwk: JsonWebKey<'_> = serde_json::from_value(published.clone()).unwrap();
    let key = <Ed25519 as jwt_compact::Algorithm>::VerifyingKey::try_from(&jwk).unwrap();
    let verified: Token<Value> = Ed25519
        .validator(&key)
        .validate(&UntrustedToken::new(token).unwrap())
        .unwrap();
    assert_eq!(verified.claims().custom["iss"], "warden");
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let mut other = URL_SAFE_NO_PAD.decode(signature).unwrap();
    other[0] ^= 1;
    let forged = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(other));
    assert!(
        Ed25519
            .validator::<Value>(&key)
            .validate(&UntrustedToken::new(&forged).unwrap())
            .is_err()
    );
}

#[tokio::test]
async fn the_jwks_is_empty_under_hs256() {
    let app = spawn_app().await;
    let jwks: Value = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(jwks, json!({"keys": []}));
}
