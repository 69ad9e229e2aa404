"""The client registry and the client_credentials grant, through clients nobody here wrote.

An admin registers a confidential client over `/admin/clients`: its secret is shown once and
never read back. authlib's OAuth 2.0 client takes tokens for it with the `client_credentials`
grant, the secret sent by HTTP Basic and then in the form, and PyJWT verifies them (EdDSA)
through the JWKS: the client is their subject, with its own audience and the scopes granted,
and no user, role, session or refresh token. The client introspects its own token and a
user's, and revokes; a wrong secret, a scope it was not allowed and credentials sent twice are
refused, its token opens no user's endpoint, and once it is deleted its token is inactive and
it gets no other. Exits non-zero at the first broken expectation.

Usage: client_credentials.py BASE_URL ADMIN_TOKEN  (the server must sign with EdDSA)
"""

import re
import sys
import uuid

import jwt
import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

BASE = sys.argv[1].rstrip("/")
ADMIN = {"Authorization": f"Bearer {sys.argv[2]}"}
TOKEN_URL = f"{BASE}/auth/token"
INTROSPECT_URL = f"{BASE}/auth/introspect"
REVOKE_URL = f"{BASE}/auth/revoke"
CLIENTS_URL = f"{BASE}/admin/clients"
ALGORITHM = "EdDSA"
ISSUER = requests.get(f"{BASE}/.well-known/oauth-authorization-server").json()["issuer"]
AUDIENCE = "https://api.outside.example"
REGISTRATION = {
    "name": "outside-billing",
    "redirect_uris": [],
    "public": False,
    "first_party": False,
    "grant_types": ["client_credentials"],
    "scopes": ["read:orders", "write:orders"],
    "audience": AUDIENCE,
}
# What the registry answers of it: the registration, and the list it was not given.
REGISTERED = {**REGISTRATION, "post_logout_redirect_uris": []}
# 32 random bytes in URL-safe base64 without padding.
SECRET = re.compile(r"[A-Za-z0-9_-]{43}")
EMAIL = f"outside-cc-{uuid.uuid4().hex[:12]}@example.com"
PASSWORD = "violet tractor hums 42 quiet lanterns"
TIMEOUT = 10


def check(condition, what, got=None):
    """Prints what held; exits with what did not, and what came instead when told."""
    if not condition:
        sys.exit(f"FAIL: {what}" + ("" if got is None else f" (got {got})"))
    print(f"ok: {what}")


def error(response):
    """The RFC 6749 `error` of a refusal, or None when its body is not one."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def echoed(body):
    """The registration's fields as the registry answered them."""
    return {field: body.get(field) for field in REGISTERED}


def register():
    """The client registered, then read back alone and in the list: (client_id, secret)."""
    r = requests.post(CLIENTS_URL, json=REGISTRATION, headers=ADMIN, timeout=TIMEOUT)
    check(r.status_code == 201, "registering a confidential client answers 201", r.status_code)
    body = r.json()
    client_id, secret = body.get("client_id"), body.get("client_secret")
    check(isinstance(client_id, str) and client_id != "", "it has a client_id", client_id)
    check(
        isinstance(secret, str) and SECRET.fullmatch(secret) is not None,
        "and a secret of 43 URL-safe base64 characters",
        f"{type(secret).__name__} of length {len(secret or '')}",
    )
    check(echoed(body) == REGISTERED, "the registration is echoed back", echoed(body))

    r = requests.get(f"{CLIENTS_URL}/{client_id}", headers=ADMIN, timeout=TIMEOUT)
    check(r.status_code == 200, "GET /admin/clients/{id} answers 200", r.status_code)
    one = r.json()
    check(
        one.get("client_id") == client_id and echoed(one) == REGISTERED,
        "and reads the registration back",
        one,
    )
    check("client_secret" not in one, "without the secret")

    r = requests.get(CLIENTS_URL, headers=ADMIN, timeout=TIMEOUT)
    check(r.status_code == 200, "GET /admin/clients answers 200", r.status_code)
    items = r.json().get("items", [])
    check(any(c.get("client_id") == client_id for c in items), "and lists the client", items)
    check(all("client_secret" not in c for c in items), "with no secret in any item")
    return client_id, secret


def session(client_id, secret, **options):
    """authlib's session for the client; `statuses` keeps the status of each token response."""
    s = OAuth2Session(client_id, secret, default_timeout=TIMEOUT, **options)
    s.statuses = []

    def keep(response):
        s.statuses.append(response.status_code)
        return response

    s.register_compliance_hook("access_token_response", keep)
    return s


def verify(access_token):
    """PyJWT, with the key picked from the JWKS by the token's kid, for the client's audience."""
    keys = jwt.PyJWKClient(f"{BASE}/.well-known/jwks.json")
    key = keys.get_signing_key_from_jwt(access_token)
    return jwt.decode(
        access_token,
        key.key,
        algorithms=[ALGORITHM],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"require": ["exp", "iat", "jti", "iss", "aud", "sub"]},
    )


def take_token(s, how, client_id, scope):
    """A client_credentials token from `s`, checked as an answer and as a JWT."""
    token = s.fetch_token(TOKEN_URL, grant_type="client_credentials")
    kind = str(token.get("token_type", "")).lower()
    check(kind == "bearer", f"client_credentials ({how}) gives a bearer token", kind)
    expires_in = token.get("expires_in")
    check(isinstance(expires_in, int) and expires_in > 0, "that expires", expires_in)
    check(token.get("scope") == scope, f"for the scope {scope!r}", token.get("scope"))
    check("refresh_token" not in token, "and no refresh token")

    access = token["access_token"]
    header = jwt.get_unverified_header(access)
    check(header.get("typ") == "at+jwt", "its typ is at+jwt", header.get("typ"))
    claims = verify(access)
    check(
        claims["sub"] == client_id and claims.get("client_id") == client_id,
        "PyJWT verifies it through the JWKS; sub and client_id are the client",
        claims,
    )
    check(claims["aud"] == AUDIENCE, "aud is the client's audience", claims["aud"])
    check(claims.get("scope") == scope, "the scope claim is the scope granted", claims)
    check("sid" not in claims and "role" not in claims, "no sid and no role", claims)
    return access


def user():
    """A fresh user signed in with the password grant: (id, access token)."""
    r = requests.post(
        f"{BASE}/auth/register", json={"email": EMAIL, "password": PASSWORD}, timeout=TIMEOUT
    )
    check(r.status_code == 201, "a user registers (201)", r.status_code)
    user_id = r.json()["id"]
    form = {"grant_type": "password", "username": EMAIL, "password": PASSWORD}
    r = requests.post(TOKEN_URL, data=form, timeout=TIMEOUT)
    check(r.status_code == 200, "and signs in with the password grant", r.status_code)
    return user_id, r.json()["access_token"]


def introspection(s, client_id, access):
    """The client, by authlib's default authentication, introspects tokens."""
    r = s.introspect_token(INTROSPECT_URL, token=access)
    check(r.status_code == 200, "the client introspects with its own authentication", r.status_code)
    seen = r.json()
    expected = {
        "active": True,
        "client_id": client_id,
        "sub": client_id,
        "scope": "read:orders",
        "token_type": "access_token",
        "aud": AUDIENCE,
    }
    check({k: seen.get(k) for k in expected} == expected, "and sees its own token", seen)

    user_id, user_token = user()
    r = s.introspect_token(INTROSPECT_URL, token=user_token)
    seen = r.json() if r.status_code == 200 else r.status_code
    check(
        r.status_code == 200 and seen.get("active") is True and seen.get("sub") == user_id,
        "and a user's, whose sub is the user",
        seen,
    )

    r = s.introspect_token(INTROSPECT_URL, token="not-a-token")
    check(
        r.status_code == 200 and r.json() == {"active": False},
        "and of a made-up token says it is inactive and nothing else",
        (r.status_code, r.text),
    )


def refusals(client_id, secret, access):
    """What is refused to the client, by `requests` alone."""
    grant = {"grant_type": "client_credentials"}
    wrong = (client_id, "not-the-secret")
    r = requests.post(TOKEN_URL, data=grant, auth=wrong, timeout=TIMEOUT)
    check(
        r.status_code == 401 and error(r) == "invalid_client",
        "a wrong secret by HTTP Basic is a 401 invalid_client",
        (r.status_code, r.text),
    )
    challenge = r.headers.get("WWW-Authenticate", "")
    check(challenge.startswith("Basic"), "with a Basic challenge", challenge)

    r = requests.post(INTROSPECT_URL, data={"token": access}, auth=wrong, timeout=TIMEOUT)
    challenge = r.headers.get("WWW-Authenticate", "")
    check(
        r.status_code == 401 and "Basic" in challenge,
        "and at the introspection endpoint, a 401 with a Basic challenge",
        (r.status_code, challenge),
    )

    asked = {**grant, "scope": "admin"}
    r = requests.post(TOKEN_URL, data=asked, auth=(client_id, secret), timeout=TIMEOUT)
    check(
        r.status_code == 400 and error(r) == "invalid_scope",
        "a scope the client was not allowed is a 400 invalid_scope",
        (r.status_code, r.text),
    )

    twice = {**grant, "client_id": client_id, "client_secret": secret}
    r = requests.post(TOKEN_URL, data=twice, auth=(client_id, secret), timeout=TIMEOUT)
    check(
        r.status_code == 400 and error(r) == "invalid_request",
        "credentials both by HTTP Basic and in the form are a 400 invalid_request",
        (r.status_code, r.text),
    )

    bearer = {"Authorization": f"Bearer {access}"}
    r = requests.get(f"{BASE}/users/me", headers=bearer, timeout=TIMEOUT)
    check(r.status_code == 401, "the client's token opens no user's endpoint", r.status_code)


def deleted(client_id, secret, access):
    """The client deleted: its token inactive, and no other for it."""
    r = requests.delete(f"{CLIENTS_URL}/{client_id}", headers=ADMIN, timeout=TIMEOUT)
    check(r.status_code == 204, "deleting the client answers 204", r.status_code)

    r = requests.post(INTROSPECT_URL, data={"token": access}, headers=ADMIN, timeout=TIMEOUT)
    check(
        r.status_code == 200 and r.json() == {"active": False},
        "its token is then inactive to the admin's introspection",
        (r.status_code, r.text),
    )

    s = session(client_id, secret)
    try:
        s.fetch_token(TOKEN_URL, grant_type="client_credentials")
        check(False, "a deleted client gets no token")
    except OAuthError as e:
        check(
            s.statuses == [401] and e.error == "invalid_client",
            "a deleted client gets no token (401 invalid_client)",
            (s.statuses, e.error),
        )


client_id, secret = register()
basic = session(client_id, secret, scope="read:orders")
access = take_token(basic, "client_secret_basic", client_id, "read:orders")
post = session(client_id, secret, token_endpoint_auth_method="client_secret_post")
take_token(post, "client_secret_post", client_id, "read:orders write:orders")
introspection(basic, client_id, access)
refusals(client_id, secret, access)
r = basic.revoke_token(REVOKE_URL, token="whatever")
check(r.status_code == 200, "the client revokes with its own authentication (200)", r.status_code)
deleted(client_id, secret, access)
print("all client_credentials checks passed")
