"""Warden through clients nobody here wrote.

The server is found by its RFC 8414 metadata, whose issuer is the URL it is reached at;
authlib's OAuth 2.0 client signs in with the password grant and refreshes; PyJWT verifies
the access tokens (EdDSA or RS256) through the JWKS, with the algorithm and the issuer pinned.
Exits non-zero at the first broken expectation.

Usage: oauth_client.py BASE_URL [ALGORITHM]  (EdDSA by default; the server must sign with it)
"""

import sys
import uuid

import jwt
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.integrations.base_client.errors import OAuthError

BASE = sys.argv[1].rstrip("/")
ALGORITHM = sys.argv[2] if len(sys.argv) > 2 else "EdDSA"
METADATA = requests.get(f"{BASE}/.well-known/oauth-authorization-server").json()
TOKEN_URL = METADATA["token_endpoint"]
EMAIL = f"outside-{uuid.uuid4().hex[:12]}@example.com"
PASSWORD = "violet tractor hums 42 quiet lanterns"


def check(condition, what):
    if not condition:
        sys.exit(f"FAIL: {what}")
    print(f"ok: {what}")


def verify(access_token):
    """PyJWT, with the key picked from the JWKS by the token's kid."""
    keys = jwt.PyJWKClient(METADATA["jwks_uri"])
    key = keys.get_signing_key_from_jwt(access_token)
    return jwt.decode(
        access_token, key.key, algorithms=[ALGORITHM], audience="warden", issuer=METADATA["issuer"]
    )


check(METADATA["issuer"] == BASE, f"the metadata's issuer is the server's URL ({METADATA['issuer']})")
check(TOKEN_URL == f"{BASE}/auth/token", "the metadata names the token endpoint")
check("client_credentials" in METADATA["grant_types_supported"], "and the grants, client_credentials among them")


r = requests.post(f"{BASE}/auth/register", json={"email": EMAIL, "password": PASSWORD})
check(r.status_code == 201, f"register answers 201 (got {r.status_code})")

client = OAuth2Session(client_id="outside", token_endpoint_auth_method="none")
token = client.fetch_token(TOKEN_URL, username=EMAIL, password=PASSWORD)
check(token.get("token_type", "").lower() == "bearer", "the password grant gives a bearer token")
check(bool(token.get("refresh_token")), "and a refresh token")

claims = verify(token["access_token"])
check(claims["sub"] == requests.get(
    f"{BASE}/users/me", headers={"Authorization": f"Bearer {token['access_token']}"}
).json()["id"], "PyJWT verifies the token through the JWKS, and sub is the user")
header = jwt.get_unverified_header(token["access_token"])
check(header.get("typ") == "at+jwt", "typ is at+jwt")
check(header.get("alg") == ALGORITHM, f"alg is {ALGORITHM}")
jwks = requests.get(f"{BASE}/.well-known/jwks.json")
check("max-age" in jwks.headers.get("Cache-Control", ""), "the JWKS may be cached for a while")
check(all(k.get("alg") == ALGORITHM for k in jwks.json()["keys"]), f"every key of the JWKS is {ALGORITHM}")

first_refresh = token["refresh_token"]
refreshed = client.refresh_token(TOKEN_URL, refresh_token=first_refresh)
check(refreshed["refresh_token"] != first_refresh, "refreshing rotates the refresh token")
verify(refreshed["access_token"])
me = client.get(f"{BASE}/users/me")
check(me.status_code == 200 and me.json()["email"] == EMAIL, "the refreshed session reads /users/me")

try:
    client.refresh_token(TOKEN_URL, refresh_token=first_refresh)
    check(False, "a rotated refresh token is refused")
except OAuthError as e:
    check(e.error == "invalid_grant", f"a rotated refresh token is refused ({e.error})")
try:
    client.refresh_token(TOKEN_URL, refresh_token=refreshed["refresh_token"])
    check(False, "reuse revoked the successor too")
except OAuthError as e:
    check(e.error == "invalid_grant", "reuse revoked the successor too")

head, body, signature = token["access_token"].split(".")
forged = f"{head}.{body}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
try:
    verify(forged)
    check(False, "PyJWT refuses a forged signature")
except jwt.InvalidSignatureError:
    check(True, "PyJWT refuses a forged signature")
r = requests.get(f"{BASE}/users/me", headers={"Authorization": f"Bearer {forged}"})
check(r.status_code == 401, "and so does Warden")
print("all client checks passed")
