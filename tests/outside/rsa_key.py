"""Writes a new 3072-bit RSA private key (PKCS#8 PEM) to PATH, made by `cryptography`, for a
server that signs with RS256 (`jwt.algorithm = "RS256"`).

Usage: rsa_key.py PATH
"""

import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
pem = key.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption(),
)
with open(sys.argv[1], "wb") as out:
    out.write(pem)
print(f"wrote an RSA key to {sys.argv[1]}")
