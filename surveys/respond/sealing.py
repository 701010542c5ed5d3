"""Authenticated encryption (AES-256-GCM) of small JSON values: the rep's draft and their survey cookie.

A sealed value is ``v1.`` followed by URL-safe base64 of a random 96-bit nonce and the ciphertext
with its tag. ``context`` is authenticated but not stored: a value sealed for one context (a rep and
wave, say) does not open in another. Anything that does not open — another key, a changed byte, a
value that was never sealed — is simply ``None``: callers treat it as absent, never as an error.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "v1."
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
SMALLEST_PADDING = 1024


def new_key() -> bytes:
    """A fresh random 256-bit key."""
    return os.urandom(KEY_BYTES)


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii")


def decode_key(text: object) -> bytes | None:
    """The key written by ``encode_key``, or None if ``text`` is not one."""
    if not isinstance(text, str):
        return None
    try:
        key = base64.urlsafe_b64decode(text.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    return key if len(key) == KEY_BYTES else None


@lru_cache(maxsize=8)
def derived_key(secret: str | bytes, purpose: str) -> bytes:
    """A key for ``purpose`` derived from the application's secret (HKDF-SHA256)."""
    material = secret.encode() if isinstance(secret, str) else bytes(secret)
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                info=f"coachlab {purpose}".encode()).derive(material)


def seal(key: bytes, context: str, value, pad: bool = False) -> str:
    """Encrypt the JSON of ``value`` under ``key``, bound to ``context``.

    ``pad`` fills the plaintext with spaces up to a power of two (1 KiB at least), so that the
    length of the ciphertext says next to nothing about what is inside (how many answers, which).
    """
    plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    if pad:
        size = SMALLEST_PADDING
        while size < len(plain):
            size *= 2
        plain = plain.ljust(size, b" ")
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plain, context.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(key: bytes, context: str, text: object):
    """The value sealed by ``seal(key, context, …)``, or None when ``text`` does not open with them."""
    if not isinstance(text, str) or not text.startswith(PREFIX):
        return None
    try:
        raw = base64.urlsafe_b64decode(text[len(PREFIX):].encode("ascii"))
        if len(raw) < NONCE_BYTES + 16:
            return None
        plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        return json.loads(plain)
    except (InvalidTag, binascii.Error, UnicodeError, ValueError):
        return None


def is_sealed(text: str | None) -> bool:
    """Whether ``text`` has the form of a sealed value (says nothing about who can open it)."""
    return bool(text) and text.startswith(PREFIX)
