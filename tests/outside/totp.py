"""The TOTP second factor as an authenticator app and an OAuth client see it.

A fresh user enrols; zxing-cpp reads the QR code (the SVG rasterized by CairoSVG) back to the
otpauth URI, and pyotp, from that URI alone, computes every code. Then: the confirmation and
its recovery codes, the login in two steps (`mfa_token`, then the code) and in one (the code
with the password), replays refused, a recovery code spent once, `amr` in the tokens, and the
factor removed. Each TOTP step is accepted once, so the script waits for new 30-second steps
(three times, up to half a minute each). Exits non-zero at the first broken expectation.

Usage: totp.py BASE_URL
"""

import base64
import io
import sys
import time
import uuid

import cairosvg
import jwt
import pyotp
import requests
import zxingcpp
from PIL import Image

BASE = sys.argv[1].rstrip("/")
TOKEN_URL = f"{BASE}/auth/token"
TOTP_URL = f"{BASE}/users/me/mfa/totp"
MFA_GRANT = "urn:warden:params:oauth:grant-type:mfa-otp"
EMAIL = f"outside-totp-{uuid.uuid4().hex[:12]}@example.com"
PASSWORD = "violet tractor hums 42 quiet lanterns"


def check(condition, what, got=None):
    """Prints what held; exits with what did not, and what came instead when told."""
    if not condition:
        sys.exit(f"FAIL: {what}" + ("" if got is None else f" (got {got})"))
    print(f"ok: {what}")


def answer(r):
    """The status and the start of the body, for a failure (never printed on success: the
    bodies hold tokens and secrets)."""
    return f"{r.status_code} {r.text[:200]}"


def bearer(access_token):
    return {"Authorization": f"Bearer {access_token}"}


def password_grant(**extra):
    return requests.post(
        TOKEN_URL,
        data={"grant_type": "password", "username": EMAIL, "password": PASSWORD, **extra},
    )


def finish(mfa_token, **proof):
    """The second step of a login: the challenge's token and a code (or a recovery code)."""
    return requests.post(TOKEN_URL, data={"grant_type": MFA_GRANT, "mfa_token": mfa_token, **proof})


def challenge():
    """A password grant of the enrolled account, which must stop at the second factor."""
    r = password_grant()
    body = r.json() if r.status_code == 403 else {}
    check(
        r.status_code == 403 and body.get("error") == "mfa_required",
        "the password alone gives 403 mfa_required",
        answer(r),
    )
    check(
        bool(body.get("mfa_token")) and bool(body.get("error_description")),
        "with an mfa_token and an error_description",
    )
    check("access_token" not in body and "refresh_token" not in body, "and no tokens")
    return body["mfa_token"]


def refused(r, what):
    try:
        error = r.json().get("error") if r.status_code == 400 else None
    except ValueError:
        error = None
    check(error == "invalid_grant", f"{what} is refused with 400 invalid_grant", answer(r))


def amr(access_token):
    """The token's `amr`, read without verification: oauth_client.py checks the signatures."""
    return jwt.decode(access_token, options={"verify_signature": False}).get("amr")


def qr_text(svg):
    """What a QR reader sees in the SVG: CairoSVG rasterizes it, zxing-cpp reads the image."""
    png = cairosvg.svg2png(bytestring=svg.encode(), scale=2)
    image = Image.open(io.BytesIO(png)).convert("L")
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return [barcode.text for barcode in found]


def code_after(totp, last_step):
    """pyotp's code of the current step, first waiting for a step after `last_step` (each
    step is accepted once); returns the code and its step."""
    now = time.time()
    if now // totp.interval <= last_step:
        # One second into the next step, so that it has surely begun for the server too.
        wait = (last_step + 1) * totp.interval - now + 1
        print(f"waiting {wait:.0f} s for the next {totp.interval}-second step")
        time.sleep(wait)
        now = time.time()
    return totp.at(now), int(now // totp.interval)


# A user who signs in with the password alone.
r = requests.post(f"{BASE}/auth/register", json={"email": EMAIL, "password": PASSWORD})
check(r.status_code == 201, "register answers 201", answer(r))
r = password_grant()
check(r.status_code == 200, "the password grant answers 200 before enrolment", answer(r))
access = r.json()["access_token"]
check(amr(access) == ["pwd"], "its access token says amr [pwd]", amr(access))

# Enrolment: what the app is shown.
r = requests.post(TOTP_URL, headers=bearer(access), json={"current_password": PASSWORD})
check(r.status_code == 200, "enrolment answers 200", answer(r))
enrolment = r.json()
secret, uri, svg = enrolment["secret"], enrolment["otpauth_uri"], enrolment["qr_svg"]
check(uri.startswith("otpauth://totp/"), "the enrolment gives an otpauth://totp/ URI")
totp = pyotp.parse_uri(uri)
check(isinstance(totp, pyotp.TOTP), "pyotp parses it as a TOTP")
check(totp.secret == secret, "the URI's secret is the secret shown")
check(len(base64.b32decode(secret + "=" * (-len(secret) % 8))) == 20, "a 160-bit secret")
check(totp.name == EMAIL, "the app names the account by its email", totp.name)
check(totp.issuer == "Warden", "and the issuer by mfa.issuer's default", totp.issuer)
check(
    (totp.digits, totp.interval, totp.digest().name) == (6, 30, "sha1"),
    "six digits, 30-second steps, HMAC-SHA1",
)
check("<svg" in svg, "the QR code is an SVG document")
read = qr_text(svg)
check(read == [uri], "zxing-cpp reads the QR code back to the URI", read)

# Confirmation with pyotp's code: the factor is active, the recovery codes shown once.
code, step = code_after(totp, -1)
r = requests.post(f"{TOTP_URL}/confirm", headers=bearer(access), json={"code": code})
check(r.status_code == 200, "confirming with pyotp's code answers 200", answer(r))
recovery_codes = r.json()["recovery_codes"]
check(
    len(recovery_codes) == 10
    and len(set(recovery_codes)) == 10
    and all(isinstance(c, str) and c for c in recovery_codes),
    "with 10 distinct recovery codes",
)
r = requests.post(f"{TOTP_URL}/confirm", headers=bearer(access), json={"code": code})
check(r.status_code == 409, "a second confirmation answers 409", answer(r))

# Login in two steps. The confirmation spent this step's code.
refused(finish(challenge(), otp=code), "the code the confirmation spent")
mfa_token = challenge()
code, step = code_after(totp, step)
r = finish(mfa_token, otp=code)
check(r.status_code == 200, "the mfa_token and a fresh code answer 200", answer(r))
tokens = r.json()
check(bool(tokens.get("access_token")) and bool(tokens.get("refresh_token")), "with both tokens")
check(
    amr(tokens["access_token"]) == ["pwd", "otp"],
    "whose access token says amr [pwd, otp]",
    amr(tokens["access_token"]),
)
me = requests.get(f"{BASE}/users/me", headers=bearer(tokens["access_token"]))
check(me.status_code == 200 and me.json()["email"] == EMAIL, "and reads /users/me")
# An unspent recovery code: a refusal here can only be the spent mfa_token's, and the
# recovery login below shows that the refused attempt did not spend the code.
refused(finish(mfa_token, recovery_code=recovery_codes[0]), "an mfa_token used once")

# A recovery code instead of the app's code, once.
r = finish(challenge(), recovery_code=recovery_codes[0])
check(r.status_code == 200, "a recovery code finishes the login", answer(r))
access = r.json()["access_token"]
check(amr(access) == ["pwd", "otp"], "whose access token says amr [pwd, otp]", amr(access))
refused(finish(challenge(), recovery_code=recovery_codes[0]), "a spent recovery code")

# Login in one step: the code with the password.
code, step = code_after(totp, step)
r = password_grant(otp=code)
check(r.status_code == 200, "the password grant with otp answers 200", answer(r))
access = r.json()["access_token"]
check(amr(access) == ["pwd", "otp"], "whose access token says amr [pwd, otp]", amr(access))

# Removal, in person: the password and a code.
code, step = code_after(totp, step)
r = requests.delete(
    TOTP_URL, headers=bearer(access), json={"current_password": PASSWORD, "code": code}
)
check(r.status_code == 204, "removing the factor answers 204", answer(r))
r = password_grant()
check(r.status_code == 200, "the password alone signs in again", answer(r))
access = r.json()["access_token"]
check(amr(access) == ["pwd"], "and the access token says amr [pwd]", amr(access))
print("all TOTP checks passed")
