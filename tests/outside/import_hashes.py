"""Users imported with password hashes that the Python libraries made.

passlib, pwdlib, argon2-cffi, bcrypt, Django and Werkzeug hash one password per user, at their
default costs (low ones where a default takes over half a second); the file also carries lines
that must be refused. It goes through `POST /admin/users/import` (a dry run, for real, then
with on_conflict=skip); every user signs in with the password its library hashed, and the
first sign-in rehashes to argon2id, as `warden user export` shows. `warden user import`
reads the same lines from stdin. Exits non-zero at the first broken expectation.

Usage: import_hashes.py BASE_URL ADMIN_TOKEN CLI DATABASE_URL
  CLI is the `warden` binary (split like a shell would); it runs with
  WARDEN_DATABASE__URL=DATABASE_URL and the rest of this environment.
"""

import json
import logging
import os
import secrets
import shlex
import stat
import subprocess
import sys
import tempfile

import argon2
import requests

# passlib 1.7.4 logs a trapped AttributeError (bcrypt >= 4.1 has no __about__) and carries on.
logging.getLogger("passlib.handlers.bcrypt").setLevel(logging.ERROR)


def check(condition, what):
    if not condition:
        sys.exit(f"FAIL: {what}")
    print(f"ok: {what}")


def make_hashes():
    """(label, password, hash) for each format, each with its own random password."""
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
        )
    from django.contrib.auth.hashers import make_password
    from passlib.hash import argon2 as passlib_argon2
    from passlib.hash import bcrypt, pbkdf2_sha256, pbkdf2_sha512
    from pwdlib.hashers.argon2 import Argon2Hasher
    from pwdlib.hashers.bcrypt import BcryptHasher
    from werkzeug.security import generate_password_hash

    makers = {
        # bcrypt cost 12, $2b$ unless told.
        "passlib_bcrypt_2b": bcrypt.hash,
        "passlib_bcrypt_2a": bcrypt.using(ident="2a").hash,
        "passlib_bcrypt_2y": bcrypt.using(ident="2y").hash,
        # 29000 and 25000 rounds, salt and digest in passlib's adapted base64.
        "passlib_pbkdf2_sha256": pbkdf2_sha256.hash,
        "passlib_pbkdf2_sha512": pbkdf2_sha512.hash,
        # argon2-cffi's defaults everywhere: m=65536 (64 MiB), t=3, p=4.
        "passlib_argon2id": passlib_argon2.hash,
        "argon2cffi_argon2i": argon2.PasswordHasher(type=argon2.Type.I).hash,
        "argon2cffi_argon2d": argon2.PasswordHasher(type=argon2.Type.D).hash,
        "pwdlib_argon2id": Argon2Hasher().hash,
        "pwdlib_bcrypt": BcryptHasher().hash,  # cost 12, $2b$
        "django_pbkdf2_sha256": make_password,  # 1,000,000 iterations in Django 5.2
        "werkzeug_pbkdf2_sha256": lambda pw: generate_password_hash(pw, "pbkdf2"),  # 1,000,000
        # The default 1,000,000 takes 0.6 s here; 600,000 was Werkzeug 3.0's default.
        "werkzeug_pbkdf2_sha512": lambda pw: generate_password_hash(pw, "pbkdf2:sha512:600000"),
        "werkzeug_scrypt": generate_password_hash,  # scrypt:32768:8:1
    }
    made = []
    for label, make in makers.items():
        password = f"imported {label} {secrets.token_hex(8)}"
        made.append((label, password, make(password)))
    return made


def cheap_bcrypt(password):
    from passlib.hash import bcrypt

    return bcrypt.using(rounds=4).hash(password)


def secret_pieces(text):
    """The whole text, its last 16 characters (digest) and the head of its salt."""
    pieces = {text, text[-16:]}
    if text.startswith("$2"):
        pieces.add(text[7:19])
    parts = text.split("$")
    if len(parts) >= 3 and len(parts[-2]) >= 12 and not any(c in parts[-2] for c in "=:,"):
        pieces.add(parts[-2][:12])
    return pieces


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    base, admin_token, cli, database_url = sys.argv[1].rstrip("/"), *sys.argv[2:5]
    admin = {"Authorization": f"Bearer {admin_token}"}
    tag = secrets.token_hex(6)

    def email(label):
        return f"imp-{label.replace('_', '-')}-{tag}@example.com"

    good = [
        {"label": label, "password": password, "email": email(label), "hash": hashed}
        for label, password, hashed in make_hashes()
    ]

    def line(user):
        return json.dumps(
            {
                "email": user["email"],
                "password_hash": user["hash"],
                "role": "user",
                "display_name": user["label"],
            }
        )

    plaintext = f"plain text password {secrets.token_hex(6)}"
    spare = cheap_bcrypt(f"spare {secrets.token_hex(8)}")  # a real $2b$04$ hash
    broken_salt = spare[:10] + "!" + spare[11:]
    too_costly = "$2b$16$" + spare[len("$2b$04$"):]
    duplicate_hash = cheap_bcrypt(f"duplicate {secrets.token_hex(8)}")
    bad = [
        ("malformed JSON", f'{{"email": "{email("json")}" "password_hash": "{spare}"}}'),
        ("no password_hash", json.dumps({"email": email("nohash"), "role": "user"})),
        ("an invalid email", json.dumps({"email": f"imp-{tag}", "password_hash": spare})),
        (
            "an email already on an earlier line",
            json.dumps({"email": good[0]["email"], "password_hash": duplicate_hash}),
        ),
        (
            "a bcrypt salt with '!'",
            json.dumps({"email": email("salt"), "password_hash": broken_salt}),
        ),
        (
            "the role root",
            json.dumps({"email": email("root"), "password_hash": spare, "role": "root"}),
        ),
        ("a plaintext password", json.dumps({"email": email("plain"), "password_hash": plaintext})),
        ("bcrypt cost 16", json.dumps({"email": email("cost"), "password_hash": too_costly})),
    ]
    # Good and bad lines alternate; a line cut inside its object, without a newline, ends it.
    lines, bad_numbers, reasons_for = [], [], {}
    for i in range(max(len(good), len(bad))):
        if i < len(good):
            lines.append(line(good[i]))
        if i < len(bad):
            lines.append(bad[i][1])
            bad_numbers.append(len(lines))
            reasons_for[len(lines)] = bad[i][0]
    cut = json.dumps({"email": email("cut"), "password_hash": spare})
    lines.append(cut[: len(cut) // 2])
    bad_numbers.append(len(lines))
    reasons_for[len(lines)] = "a truncated last line"
    body = "\n".join(lines).encode()
    n, m = len(good), len(bad_numbers)

    secret_texts = [u["password"] for u in good] + [u["hash"] for u in good]
    secret_texts += [plaintext, spare, broken_salt, too_costly, duplicate_hash]
    pieces = set().union(*(secret_pieces(s) for s in secret_texts))

    def post_import(query):
        answer = requests.post(
            f"{base}/admin/users/import{query}",
            data=body,
            headers={**admin, "Content-Type": "application/x-ndjson"},
            timeout=120,
        )
        check(answer.status_code == 200, f"import{query} answers 200 (got {answer.status_code})")
        leaked = [p for p in pieces if p in answer.text]
        check(not leaked, f"import{query}: the report holds no password or hash text")
        return answer.json()

    def check_refusals(report, query):
        refusals = report.get("refusals", [])
        lines_refused = sorted(r.get("line") for r in refusals)
        check(
            lines_refused == bad_numbers,
            f"import{query} refuses exactly lines {bad_numbers} (got {lines_refused})",
        )
        check(
            all(isinstance(r.get("reason"), str) and r["reason"] for r in refusals),
            f"import{query}: every refusal has a reason",
        )
        for r in sorted(refusals, key=lambda r: r["line"]):
            print(f"    line {r['line']} ({reasons_for[r['line']]}): {r['reason']}")

    def counts(report):
        return {k: report.get(k) for k in ("imported", "updated", "skipped", "refused", "dry_run")}

    def login(user, password):
        return requests.post(
            f"{base}/auth/token",
            data={"grant_type": "password", "username": user["email"], "password": password},
            timeout=60,
        )

    report = post_import("?dry_run=true")
    want = {"imported": n, "updated": 0, "skipped": 0, "refused": m, "dry_run": True}
    check(counts(report) == want, f"the dry run counts {want} (got {counts(report)})")
    check_refusals(report, "?dry_run=true")
    r = login(good[0], good[0]["password"])
    check(
        r.status_code == 400 and r.json().get("error") == "invalid_grant",
        f"the dry run wrote nothing: {good[0]['label']} cannot sign in (got {r.status_code})",
    )

    report = post_import("")
    want = {**want, "dry_run": False}
    check(counts(report) == want, f"the import counts {want} (got {counts(report)})")
    check_refusals(report, "")

    report = post_import("?on_conflict=skip")
    want = {"imported": 0, "updated": 0, "skipped": n, "refused": m, "dry_run": False}
    check(counts(report) == want, f"again with on_conflict=skip: {want} (got {counts(report)})")
    check_refusals(report, "?on_conflict=skip")

    for user in good:
        r = login(user, "not " + user["password"])
        check(
            r.status_code == 400 and r.json().get("error") == "invalid_grant",
            f"{user['label']}: a wrong password is invalid_grant (got {r.status_code})",
        )
        r = login(user, user["password"])
        check(
            r.status_code == 200 and bool(r.json().get("access_token")),
            f"{user['label']}: its own password signs in (got {r.status_code})",
        )

    env = {**os.environ, "WARDEN_DATABASE__URL": database_url}
    command = shlex.split(cli)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "export.jsonl")
        done = subprocess.run(
            [*command, "user", "export", "--file", path],
            env=env, capture_output=True, text=True, timeout=300,
        )
        check(done.returncode == 0, f"warden user export exits 0 ({done.stderr.strip()})")
        mode = stat.S_IMODE(os.stat(path).st_mode)
        check(mode == 0o600, f"the export file's mode is 0600 (got {mode:o})")
        with open(path, encoding="utf-8") as f:
            exported = [json.loads(text) for text in f if text.strip()]
    fields = {"email", "password_hash", "role", "display_name", "disabled", "email_verified",
              "created_at"}
    check(
        all(fields <= set(row) for row in exported),
        f"every exported line has {sorted(fields)}",
    )
    by_email = {row["email"]: row for row in exported}
    check(
        all(u["email"] in by_email for u in good),
        f"the export holds the {n} imported users",
    )
    check(
        not any(row["email"].endswith(f"-{tag}@example.com") and row["email"] not in
                {u["email"] for u in good} for row in exported),
        "and none of the refused lines",
    )
    for user in good:
        row = by_email[user["email"]]
        check(
            row["role"] == "user" and row["display_name"] == user["label"]
            and row["disabled"] is False,
            f"{user['label']}: exported with its role, name, and enabled",
        )
        check(
            row["password_hash"].startswith("$argon2id$"),
            f"{user['label']}: the sign-in rehashed it to argon2id",
        )
        try:
            argon2.PasswordHasher().verify(row["password_hash"], user["password"])
            verified = True
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            verified = False
        check(verified, f"{user['label']}: argon2-cffi verifies the new hash")
        r = login(user, user["password"])
        check(r.status_code == 200, f"{user['label']}: signs in again after the rehash")

    done = subprocess.run(
        [*command, "user", "import", "--file", "-", "--on-conflict", "skip", "--json"],
        input="".join(line(u) + "\n" for u in good),
        env=env, capture_output=True, text=True, timeout=300,
    )
    check(done.returncode == 0, f"warden user import exits 0 ({done.stderr.strip()})")
    summary = json.loads(done.stdout)
    check(
        summary.get("imported") == 0 and summary.get("skipped") == n
        and summary.get("refused") == 0,
        f"warden user import --on-conflict skip: imported 0, skipped {n} (got {summary})",
    )
    print("all import checks passed")


if __name__ == "__main__":
    main()
