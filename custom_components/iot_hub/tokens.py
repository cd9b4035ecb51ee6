"""Device tokens: generated once, shown once, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets


def generate_token() -> str:
    """A new device token: 32 random bytes, URL-safe (it travels as ``?token=``)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The digest stored in the config entry and used to look a device up."""
    return hashlib.sha256(token.encode()).hexdigest()
