"""Keyed fingerprints of personal IDs, for counting attempts without storing the ID.

A plain hash of a 12-digit ID is reversed by trying the few billion valid IDs;
an HMAC under a server secret is not. The secret comes from `EHR_SECRET_KEY`; on
a development machine without one, a random key is kept in `var/secret.key`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from functools import cache
from pathlib import Path

from core.config import PROJECT_ROOT

log = logging.getLogger(__name__)
LOCAL_KEY_FILE = PROJECT_ROOT / "var" / "secret.key"


@cache
def secret_key() -> bytes:
    configured = os.environ.get("EHR_SECRET_KEY")
    if configured:
        return configured.encode()
    return _local_key(LOCAL_KEY_FILE)


def _local_key(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return path.read_bytes().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        log.warning("EHR_SECRET_KEY is not set; created a local key in %s (set it in production)", path)
    return path.read_bytes().strip()


def personal_id_key(personal_id: str) -> str:
    return hmac.new(secret_key(), personal_id.encode(), hashlib.sha256).hexdigest()


def phone_key(phone: str) -> str:
    """A caller's number (`+84…`) as an account key: USSD accounts are known by number only."""
    return hmac.new(secret_key(), b"phone:" + phone.encode(), hashlib.sha256).hexdigest()
