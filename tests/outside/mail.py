"""Warden's mail as a real SMTP server and a mail reader see it.

aiosmtpd plays the mail server, in-process: STARTTLS required, then AUTH (only `warden` /
`mail-secret-42`), and each message parsed by the standard `email` package. Warden, started
before this script and pointed at it (mail.smtp_url with ?tls=starttls, ca.pem as its trust
anchor, public_url = BASE_URL), sends the mails; the script reads the links out of them and
follows them as a user would:

- registration: the verification mail, its page (a GET shows a form and consumes nothing), the
  token posted once and refused the second time;
- forgotten password: the reset mail, a weak password refused without spending the token, the
  reset ending the old password and the old access token, the token refused the second time;
- an unknown address: 202 all the same, and no mail;
- email change: a notice without a link to the old address, the verification to the new one,
  and the change only once verified;
- the SMTP server down: the API still answers at once, and once the server is back every mail
  arrives, exactly once;
- Debian's Chromium with JavaScript off sets a new password on the reset page
  (tests/outside/reset_page.mjs);
- and every message received: text and HTML alternatives, From, Subject, sent over STARTTLS
  after AUTH.

Warden retries a failed send after about 5 s, then 10 s, 20 s...: mails are awaited up to
45 s (60 s after the outage). Exits non-zero at the first broken expectation; never prints a
token or a password.

Usage: mail.py make-cert DIR
         writes DIR/ca.pem (a test CA, Warden's trust anchor) and DIR/cert.pem + DIR/key.pem
         (the SMTP server's certificate for localhost and 127.0.0.1, signed by that CA)
       mail.py run BASE_URL SMTP_PORT CERT_DIR NODE_SCRIPT
"""

import datetime
import email
import email.policy
import html
import ipaddress
import logging
import os
import re
import ssl
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests

SMTP_USER = b"warden"
SMTP_PASSWORD = b"mail-secret-42"
PASSWORD = "violet tractor hums 42 quiet lanterns"
NEW_PASSWORD = "amber kettle sings 17 distant harbors"
OTHER_PASSWORD = "copper meadow drifts 58 silent owls"
BROWSER_PASSWORD = "granite willow hums 93 patient comets"
LINK = re.compile(r"https?://[^\s\"<>]+/account/(verify|reset)\?token=[A-Za-z0-9_-]+")
MAIL_WAIT = 45
HTTP_TIMEOUT = 10

BASE = ""  # set by run()


def fail(what):
    sys.exit(f"FAIL: {what}")


def check(condition, what, got=None):
    """Prints what held; exits with what did not, and what came instead when told."""
    if not condition:
        fail(what + ("" if got is None else f" (got {got})"))
    print(f"ok: {what}")


def answer(r, *secrets):
    """The status, and for a refusal the start of its body with the given secrets taken out
    (a success's body is never shown: it holds tokens)."""
    if r.status_code < 300:
        return str(r.status_code)
    text = r.text[:300]
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return f"{r.status_code} {text}"


# --- Certificates -------------------------------------------------------------------------


def make_cert(directory):
    """A test CA and, signed by it, a server certificate for localhost and 127.0.0.1 (webpki
    refuses a CA certificate as the server's own, hence two)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    not_before, not_after = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)

    def usage(**allowed):
        names = [
            "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
            "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only",
        ]
        return x509.KeyUsage(**{name: allowed.get(name, False) for name in names})

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Warden outside test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "cert.pem").write_bytes(leaf.public_bytes(pem))
    key_path = directory / "key.pem"
    key_path.write_bytes(
        key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    os.chmod(key_path, 0o600)
    print(f"wrote ca.pem, cert.pem and key.pem in {directory}")


# --- The SMTP server ----------------------------------------------------------------------


@dataclass
class Received:
    seq: int
    rcpts: list
    message: object  # email.message.EmailMessage, or None when it did not parse
    error: str
    tls: bool
    authenticated: bool


class Mailbox:
    """Every message received, in order; append-only, so a message's index is its sequence
    number and `mark()` says where the next one will land."""

    def __init__(self):
        self._changed = threading.Condition()
        self._mail = []

    def add(self, **fields):
        with self._changed:
            self._mail.append(Received(seq=len(self._mail), **fields))
            self._changed.notify_all()

    def mark(self):
        with self._changed:
            return len(self._mail)

    def since(self, mark=0):
        with self._changed:
            return list(self._mail[mark:])

    def wait(self, rcpt, after, timeout=MAIL_WAIT):
        """The first message to `rcpt` received at or after `after`, or None."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for received in self._mail[after:]:
                    if rcpt in received.rcpts:
                        return received
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)


MAILBOX = Mailbox()
AUTH_LOCK = threading.Lock()
AUTH_ATTEMPTS = []  # (mechanism, accepted, over TLS)


class Handler:
    async def handle_DATA(self, server, session, envelope):
        try:
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            error = ""
        except Exception as e:  # recorded, reported by the check of every message
            message, error = None, f"{type(e).__name__}: {e}"
        MAILBOX.add(
            rcpts=[r.lower() for r in envelope.rcpt_tos],
            message=message,
            error=error,
            tls=bool(session.ssl),
            authenticated=bool(getattr(session, "authenticated", False)),
        )
        return "250 Message accepted for delivery"


def authenticate(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    accepted = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == SMTP_USER
        and auth_data.password == SMTP_PASSWORD
    )
    with AUTH_LOCK:
        AUTH_ATTEMPTS.append((mechanism, accepted, bool(session.ssl)))
    return AuthResult(success=True) if accepted else AuthResult(success=False, handled=False)


def start_smtp(port, cert_dir):
    """A new, started controller on 127.0.0.1:port: STARTTLS and AUTH required."""
    from aiosmtpd.controller import Controller

    # aiosmtpd logs its own use of its deprecated attribute at each successful AUTH.
    logging.getLogger("mail.log").addFilter(
        lambda record: "login_data is deprecated" not in record.getMessage()
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_dir / "cert.pem", cert_dir / "key.pem")
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        # The banner's name; without it, socket.getfqdn() may wait on DNS.
        server_hostname="localhost",
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=authenticate,
    )
    controller.start()
    return controller


# --- Reading mail -------------------------------------------------------------------------


def part_text(message, subtype):
    part = message.get_body(preferencelist=(subtype,))
    return None if part is None else part.get_content()


def link(received):
    """The one verify or reset link of a message: (kind, url, token). The text part holds it;
    the HTML part holds the same."""
    plain, markup = part_text(received.message, "plain"), part_text(received.message, "html")
    check(plain is not None and markup is not None, "the mail has a text and an HTML part")
    found = {m.group(0) for m in LINK.finditer(plain)}
    check(len(found) == 1, "the text part holds exactly one link", f"{len(found)} links")
    url = found.pop()
    check(url in markup or url in html.unescape(markup), "the HTML part holds the same link")
    check(url.startswith(f"{BASE}/account/"), "the link points at public_url")
    kind = LINK.fullmatch(url).group(1)
    return kind, url, url.split("token=", 1)[1]


def no_link(received):
    """Whether neither part of a message holds a verify or reset link."""
    texts = [part_text(received.message, s) or "" for s in ("plain", "html")]
    return not any(LINK.search(t) or LINK.search(html.unescape(t)) for t in texts)


def wait_mail(rcpt, after, what, timeout=MAIL_WAIT):
    received = MAILBOX.wait(rcpt, after, timeout)
    if received is None:
        fail(f"{what}: no mail reached {rcpt} within {timeout} s")
    check(received.message is not None, f"{what} arrives and parses", received.error)
    return received


def settle(quiet=3.0, longest=30.0):
    """Waits until no mail has come for `quiet` seconds (at most `longest` in all)."""
    start = time.monotonic()
    count, last_change = MAILBOX.mark(), time.monotonic()
    while time.monotonic() - last_change < quiet and time.monotonic() - start < longest:
        time.sleep(0.25)
        if MAILBOX.mark() != count:
            count, last_change = MAILBOX.mark(), time.monotonic()


# --- The API ------------------------------------------------------------------------------


@dataclass
class User:
    email: str
    password: str


def fresh_email(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


def bearer(access_token):
    return {"Authorization": f"Bearer {access_token}"}


def post(path, body, **kwargs):
    return requests.post(f"{BASE}{path}", json=body, timeout=HTTP_TIMEOUT, **kwargs)


def password_grant(username, password):
    return requests.post(
        f"{BASE}/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
        timeout=HTTP_TIMEOUT,
    )


def sign_in(username, password, what="the password grant answers 200"):
    r = password_grant(username, password)
    check(r.status_code == 200, what, answer(r))
    return r.json()["access_token"]


def refused_grant(username, password, what):
    r = password_grant(username, password)
    try:
        error = r.json().get("error") if r.status_code == 400 else None
    except ValueError:
        error = None
    check(error == "invalid_grant", f"{what} is refused with 400 invalid_grant", answer(r))


def me(access_token):
    r = requests.get(f"{BASE}/users/me", headers=bearer(access_token), timeout=HTTP_TIMEOUT)
    check(r.status_code == 200, "GET /users/me answers 200", answer(r))
    return r.json()


def register(user):
    r = post("/auth/register", {"email": user.email, "password": user.password})
    check(r.status_code == 201, "register answers 201", answer(r))


def verify(token, what="posting the verification token answers 204"):
    r = post("/auth/email/verify", {"token": token})
    check(r.status_code == 204, what, answer(r, token))


def verified_user(prefix):
    """A new user whose address is verified through the mail."""
    user = User(fresh_email(prefix), PASSWORD)
    mark = MAILBOX.mark()
    register(user)
    kind, _, token = link(wait_mail(user.email, mark, "the verification mail"))
    check(kind == "verify", "it holds a verify link", kind)
    verify(token)
    return user


def forgot(address):
    r = post("/auth/password/forgot", {"email": address})
    check(r.status_code == 202, "forgot password answers 202", answer(r))


# --- The checks ---------------------------------------------------------------------------


def check_verification():
    """b. Registration, the verification mail, its page and its token."""
    print("-- registration and verification")
    user = User(fresh_email("mail"), PASSWORD)
    mark = MAILBOX.mark()
    register(user)
    kind, url, token = link(wait_mail(user.email, mark, "the verification mail"))
    check(kind == "verify", "it holds a /account/verify link", kind)

    r = requests.get(url, timeout=HTTP_TIMEOUT, allow_redirects=False)
    check(r.status_code == 200, "GET on the link answers 200", answer(r, token))
    check(
        r.headers.get("content-type", "").startswith("text/html"),
        "as HTML",
        r.headers.get("content-type"),
    )
    csp = r.headers.get("content-security-policy", "")
    check("default-src 'none'" in csp, "with a Content-Security-Policy of default-src 'none'", csp)
    check(
        r.headers.get("referrer-policy", "").strip().lower() == "no-referrer",
        "and Referrer-Policy: no-referrer",
        r.headers.get("referrer-policy"),
    )
    check(
        re.search(r"<form\b[^>]*\bmethod\s*=\s*[\"']?post\b", r.text, re.IGNORECASE),
        'the page holds a <form method="post">',
    )

    access = sign_in(user.email, user.password)
    check(me(access).get("email_verified") is False, "the GET verified nothing: email_verified false")
    verify(token)
    body = me(access)
    check(body.get("email_verified") is True, "then email_verified is true")
    check(isinstance(body.get("email_verified_at"), str), "and email_verified_at a string")

    r = post("/auth/email/verify", {"token": token})
    check(r.status_code == 400, "the same token again answers 400", answer(r, token))
    check(
        r.headers.get("content-type", "").startswith("application/problem+json"),
        "as application/problem+json",
        r.headers.get("content-type"),
    )
    check(token not in r.text, "and the refusal does not repeat the token")
    return user


def check_reset(user):
    """c. Forgotten password: the reset mail, the policy, the end of the old password."""
    print("-- forgotten password")
    old_access = sign_in(user.email, user.password, "the user signs in before the reset")
    mark = MAILBOX.mark()
    forgot(user.email)
    kind, _, token = link(wait_mail(user.email, mark, "the reset mail"))
    check(kind == "reset", "it holds a /account/reset link", kind)

    r = post("/auth/password/reset", {"token": token, "new_password": "weak"})
    check(r.status_code == 422, "a weak new password answers 422", answer(r, token))
    r = post("/auth/password/reset", {"token": token, "new_password": NEW_PASSWORD})
    check(r.status_code == 204, "the same token with a strong password answers 204", answer(r, token))
    refused_grant(user.email, user.password, "the old password")
    sign_in(user.email, NEW_PASSWORD, "the new password signs in")
    r = requests.get(f"{BASE}/users/me", headers=bearer(old_access), timeout=HTTP_TIMEOUT)
    check(r.status_code == 401, "the access token from before the reset answers 401", answer(r))
    r = post("/auth/password/reset", {"token": token, "new_password": OTHER_PASSWORD})
    check(r.status_code == 400, "the spent reset token answers 400", answer(r, token))
    user.password = NEW_PASSWORD


def check_unknown_address():
    """d. Forgot for an address nobody has: the same 202, and no mail."""
    print("-- unknown address")
    nobody = fresh_email("nobody")
    forgot(nobody)
    settle()
    got = [m for m in MAILBOX.since() if nobody in m.rcpts]
    check(not got, "no mail went to the unknown address", f"{len(got)} mails")


def check_email_change():
    """e. A new address: a notice to the old one, the verification to the new one."""
    print("-- email change")
    user = verified_user("mail-change")
    old, new = user.email, fresh_email("mail-new")
    access = sign_in(old, user.password)
    mark = MAILBOX.mark()
    r = requests.put(
        f"{BASE}/users/me/email",
        json={"new_email": new, "current_password": user.password},
        headers=bearer(access),
        timeout=HTTP_TIMEOUT,
    )
    check(r.status_code == 202, "PUT /users/me/email answers 202", answer(r))
    notice = wait_mail(old, mark, "the notice to the old address")
    check(no_link(notice), "the notice holds no token link")
    kind, _, token = link(wait_mail(new, mark, "the verification mail to the new address"))
    check(kind == "verify", "it holds a /account/verify link", kind)
    check(me(access).get("email") == old, "before verification, /users/me shows the old address")

    verify(token)
    new_access = sign_in(new, user.password, "the new address signs in")
    body = me(new_access)
    check(body.get("email") == new, "/users/me shows the new address")
    check(body.get("email_verified") is True, "verified")
    refused_grant(old, user.password, "the old address")
    user.email = new
    return user


def check_outage(controller_box, port, cert_dir, targets):
    """f. The SMTP server down: the API answers at once, the mail follows exactly once."""
    print("-- SMTP server down")
    controller_box[0].stop()
    controller_box[0] = None
    stopped = MAILBOX.mark()
    print("ok: the SMTP server is stopped")

    newcomers = [User(fresh_email("mail-outage"), PASSWORD) for _ in range(3)]
    for user in newcomers:
        start = time.monotonic()
        r = post("/auth/register", {"email": user.email, "password": user.password})
        took = time.monotonic() - start
        check(r.status_code == 201, "register answers 201 with the SMTP server down", answer(r))
        check(took < 2, "in under 2 s", f"{took:.1f} s")
    for user in targets:
        start = time.monotonic()
        r = post("/auth/password/forgot", {"email": user.email})
        took = time.monotonic() - start
        check(r.status_code == 202, "forgot answers 202 with the SMTP server down", answer(r))
        check(took < 2, "in under 2 s", f"{took:.1f} s")

    time.sleep(8)
    controller_box[0] = start_smtp(port, cert_dir)
    print("ok: the SMTP server is back on the same port")

    expected = {u.email: "verify" for u in newcomers} | {u.email: "reset" for u in targets}
    for rcpt in expected:
        wait_mail(rcpt, stopped, "the mail held back by the outage", timeout=60)
    time.sleep(10)
    tokens = {}
    for rcpt, kind in expected.items():
        got = [m for m in MAILBOX.since(stopped) if rcpt in m.rcpts]
        check(len(got) == 1, "exactly one mail per recipient after the outage", len(got))
        got_kind, _, token = link(got[0])
        check(got_kind == kind, f"a {kind} link", got_kind)
        tokens[rcpt] = token
    for user in newcomers:
        verify(tokens[user.email], "a token delivered late verifies (204)")


def check_browser(node_script):
    """g. The reset page in Chromium, JavaScript off."""
    print("-- reset page in Chromium")
    user = verified_user("mail-browser")
    mark = MAILBOX.mark()
    forgot(user.email)
    kind, url, _ = link(wait_mail(user.email, mark, "the reset mail"))
    check(kind == "reset", "it holds a /account/reset link", kind)
    sys.stdout.flush()
    try:
        # Neither the command line (the link, the password) nor its output is repeated here.
        done = subprocess.run(["node", str(node_script), url, BROWSER_PASSWORD], timeout=120)
    except subprocess.TimeoutExpired:
        fail("reset_page.mjs did not finish within 120 s")
    except OSError as e:
        fail(f"could not run node: {type(e).__name__}")
    check(done.returncode == 0, "reset_page.mjs exits 0", done.returncode)
    sign_in(user.email, BROWSER_PASSWORD, "the password set in the browser signs in")
    refused_grant(user.email, user.password, "the old password")


def check_every_message():
    """a. Every message received: alternatives, headers, STARTTLS and AUTH."""
    print("-- every message")
    received = MAILBOX.since()
    check(received, "mail was received", 0)
    for m in received:
        check(m.message is not None, f"message {m.seq} parses", m.error)
        msg = m.message
        if msg.get_content_type() != "multipart/alternative":
            fail(f"message {m.seq} is {msg.get_content_type()}, not multipart/alternative")
        if part_text(msg, "plain") is None or part_text(msg, "html") is None:
            fail(f"message {m.seq} lacks its text/plain or its text/html part")
        if not str(msg.get("From", "")).strip() or not str(msg.get("Subject", "")).strip():
            fail(f"message {m.seq} lacks a From or a Subject")
        if not (m.tls and m.authenticated):
            fail(f"message {m.seq} came without STARTTLS or without AUTH")
    print(f"ok: all {len(received)} messages: multipart/alternative, From, Subject, TLS, AUTH")
    with AUTH_LOCK:
        attempts = list(AUTH_ATTEMPTS)
    check(attempts, "Warden authenticated", 0)
    check(all(tls for _, _, tls in attempts), "always over TLS")
    refused = [mechanism for mechanism, accepted, _ in attempts if not accepted]
    check(not refused, "and never with refused credentials", refused)


def run(base, port, cert_dir, node_script):
    global BASE
    BASE = base.rstrip("/")
    controller_box = [start_smtp(port, cert_dir)]
    print(f"ok: SMTP server listening on 127.0.0.1:{port} (STARTTLS, AUTH)")
    try:
        first = check_verification()
        check_reset(first)
        check_unknown_address()
        changed = check_email_change()
        spare = verified_user("mail-spare")
        check_outage(controller_box, port, cert_dir, [changed, spare])
        check_browser(node_script)
        check_every_message()
    finally:
        if controller_box[0] is not None:
            controller_box[0].stop()
    print("all mail checks passed")


def main():
    sys.stdout.reconfigure(line_buffering=True)
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "make-cert":
        make_cert(Path(args[1]))
    elif len(args) == 5 and args[0] == "run":
        run(args[1], int(args[2]), Path(args[3]), Path(args[4]))
    else:
        sys.exit(
            "usage: mail.py make-cert DIR\n"
            "       mail.py run BASE_URL SMTP_PORT CERT_DIR NODE_SCRIPT"
        )


if __name__ == "__main__":
    main()
