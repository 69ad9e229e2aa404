//! OAuth clients: the applications that ask for tokens, by which grants, for which scopes; and
//! the rules a registration must follow.

use time::OffsetDateTime;

/// The most redirect URIs (and, apart, post-logout redirect URIs) a client may register.
pub const MAX_URIS: usize = 20;
/// The longest redirect URI, in bytes.
pub const MAX_URI_LEN: usize = 2000;
/// The longest client name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The most scopes a client may be allowed.
pub const MAX_SCOPES: usize = 50;
/// The longest scope, in bytes.
pub const MAX_SCOPE_LEN: usize = 64;
/// The longest audience, in bytes.
pub const MAX_AUDIENCE_LEN: usize = 200;

/// An OAuth 2.0 grant a client may be allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GrantType {
    /// The authorization code (with PKCE).
    AuthorizationCode,
    /// The refresh token.
    RefreshToken,
    /// The client's own credentials (confidential clients only).
    ClientCredentials,
    /// The resource owner's password.
    Password,
}

impl GrantType {
    /// Every grant, in the order they are listed.
    pub const ALL: [Self; 4] = [
        Self::AuthorizationCode,
        Self::RefreshToken,
        Self::ClientCredentials,
        Self::Password,
    ];

    /// Its name on the wire (RFC 6749).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::Password => "password",
        }
    }

    /// The grant of this name, exactly as [`Self::as_str`] spells it.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == name)
    }
}

/// What a registration says of a client: given at creation, changed by an update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSpec {
    /// A name to show.
    pub name: String,
    /// The redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// A public client has no secret (a browser or native app).
    pub public: bool,
    /// A first-party client is never asked for consent.
    pub first_party: bool,
    /// The grants it may use.
    pub grant_types: Vec<GrantType>,
    /// The scopes it may ask for.
    pub scopes: Vec<String>,
    /// The `aud` of its access tokens, when not the server's default.
    pub audience: Option<String>,
    /// Where it may send a user back after logout, matched exactly.
    pub post_logout_redirect_uris: Vec<String>,
}

/// A registered client (never its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    /// `client_id`.
    pub id: String,
    /// What was registered.
    pub spec: ClientSpec,
    /// The digest of its secret; `None` for a public client.
    pub secret_digest: Option<String>,
    /// When it was registered.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

impl Client {
    /// Whether it may use `grant`.
    pub fn allows(&self, grant: GrantType) -> bool {
        self.spec.grant_types.contains(&grant)
    }
}

impl ClientSpec {
    /// The spec with its lists in order and free of repeats and its name trimmed, or every
    /// reason it is refused.
    ///
    /// # Errors
    /// One sentence per broken rule.
    pub fn validated(mut self) -> Result<Self, Vec<String>> {
        let mut reasons = Vec::new();
        let name = std::mem::take(&mut self.name);
        name.trim().clone_into(&mut self.name);
        if self.name.is_empty()
            || self.name.chars().count() > MAX_NAME_CHARS
            || self.name.chars().any(char::is_control)
        {
            reasons.push(format!(
                "name must be 1 to {MAX_NAME_CHARS} printable characters"
            ));
        }
        dedup(&mut self.grant_types);
        dedup(&mut self.scopes);
        dedup(&mut self.redirect_uris);
        dedup(&mut self.post_logout_redirect_uris);
        if self.grant_types.is_empty() {
            reasons.push("grant_types must name at least one grant".into());
        }
        if self.public && self.grant_types.contains(&GrantType::ClientCredentials) {
            reasons.push("a public client cannot use client_credentials".into());
        }
        if self.grant_types.contains(&GrantType::AuthorizationCode) && self.redirect_uris.is_empty()
        {
            reasons.push("authorization_code needs at least one redirect URI".into());
        }
        uris("redirect_uris", &self.redirect_uris, &mut reasons);
        uris(
            "post_logout_redirect_uris",
            &self.post_logout_redirect_uris,
            &mut reasons,
        );
        if self.scopes.len() > MAX_SCOPES {
            reasons.push(format!("scopes may hold at most {MAX_SCOPES} scopes"));
        }
        if !self.scopes.iter().all(|s| is_scope(s)) {
            reasons.push(format!(
                "each scope must be 1 to {MAX_SCOPE_LEN} printable ASCII characters, without \
                 spaces, quotes or backslashes"
            ));
        }
        if let Some(aud) = &self.audience
            && (aud.is_empty()
                || aud.len() > MAX_AUDIENCE_LEN
                || !aud.bytes().all(|b| b.is_ascii_graphic()))
        {
            reasons.push(format!(
                "audience must be 1 to {MAX_AUDIENCE_LEN} printable ASCII characters, without \
                 spaces"
            ));
        }
        if reasons.is_empty() {
            Ok(self)
        } else {
            Err(reasons)
        }
    }
}

/// Keeps the first of each repeated item, in order.
fn dedup<T: PartialEq + Clone>(items: &mut Vec<T>) {
    let mut seen: Vec<T> = Vec::with_capacity(items.len());
    items.retain(|item| {
        if seen.contains(item) {
            false
        } else {
            seen.push(item.clone());
            true
        }
    });
}

/// The rules of a list of redirect URIs, named `field`.
fn uris(field: &str, list: &[String], reasons: &mut Vec<String>) {
    if list.len() > MAX_URIS {
        reasons.push(format!("{field} may hold at most {MAX_URIS} URIs"));
    }
    if !list.iter().all(|u| is_redirect_uri(u)) {
        reasons.push(format!(
            "each of {field} must be an absolute URI of at most {MAX_URI_LEN} characters without \
             a fragment or user information: https, http only to 127.0.0.1, [::1] or localhost, \
             or a private scheme with a dot in it (com.example.app:/callback)"
        ));
    }
}

/// A scope token (RFC 6749 §3.3: `%x21 / %x23-5B / %x5D-7E`), of at most
/// [`MAX_SCOPE_LEN`] bytes.
pub fn is_scope(scope: &str) -> bool {
    !scope.is_empty()
        && scope.len() <= MAX_SCOPE_LEN
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// A redirect URI a client may register (RFC 9700 §2.1, RFC 8252 §7): absolute, no fragment,
/// no user information, only visible ASCII; `https`, loopback `http`, or a private-use scheme
/// with a dot in it.
pub fn is_redirect_uri(uri: &str) -> bool {
    if uri.len() > MAX_URI_LEN || !uri.bytes().all(|b| b.is_ascii_graphic()) || uri.contains('#') {
        return false;
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_lowercase())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b));
    if !scheme_ok {
        return false;
    }
    match scheme {
        "https" => authority(rest).is_some_and(|host| !host.is_empty()),
        "http" => authority(rest).is_some_and(is_loopback),
        _ => scheme.contains('.') && !rest.is_empty(),
    }
}

/// The host of `//authority/...`, if the authority is there and holds no user information.
fn authority(rest: &str) -> Option<&str> {
    let after = rest.strip_prefix("//")?;
    let end = after.find(['/', '?']).unwrap_or(after.len());
    let authority = &after[..end];
    if authority.contains('@') {
        return None;
    }
    Some(match authority.rsplit_once(':') {
        // A port after the host (an IPv6 host ends with `]`).
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    })
}

/// The loopback hosts a native app may listen on (RFC 8252 §7.3).
fn is_loopback(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "[::1]" | "localhost")
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
