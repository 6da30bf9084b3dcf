"""The server secret, and the keyed fingerprints made with it.

A plain hash of a 12-digit ID is reversed by trying the few billion valid IDs;
an HMAC under a server secret is not. The secret keys the attempt log's ID
fingerprints, USSD account keys, check-in tokens and codes, staff invites and
the pepper of PINs, so every worker must share it and keep it across deploys:
`EHR_SECRET_KEY`, required outside the sandbox, the seed and the tests. Those may
use a random key kept in `var/secret.key` once they call `allow_local_key()`.

Rotation: the old key as `EHR_SECRET_KEY_PREVIOUS` beside the new one. Values
are written under the current key and read under both (`*_keys`, `secret_keys`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.config import PROJECT_ROOT, ConfigurationError
from core.i18n import N_

log = logging.getLogger(__name__)
LOCAL_KEY_FILE = PROJECT_ROOT / "var" / "secret.key"
KEY_VARIABLE = "EHR_SECRET_KEY"
PREVIOUS_KEY_VARIABLE = "EHR_SECRET_KEY_PREVIOUS"
# 32 characters: 128 bits or more from `token_hex(32)` (64 characters) or any passphrase that long.
MIN_KEY_LENGTH = 32
MAKE_A_KEY = 'python -c "import secrets; print(secrets.token_hex(32))"'

_local_allowed = False


class SecretKeyError(ConfigurationError):
    """The secret is missing or unusable: the operator's to fix (the CLIs print it, exit 2)."""


@dataclass(frozen=True)
class SecretKeys:
    current: bytes
    previous: bytes | None
    local: bool  # the development key in var/secret.key

    @property
    def all(self) -> tuple[bytes, ...]:
        return (self.current,) if self.previous is None else (self.current, self.previous)


def allow_local_key() -> None:
    """This process may fall back to `var/secret.key`: the sandbox on a demo database, the seed, tests."""
    global _local_allowed
    _local_allowed = True


def require_configured_key() -> None:
    """Start-up check of the service: `EHR_SECRET_KEY` set and long enough, whatever was allowed."""
    _configured(os.environ.get(KEY_VARIABLE), os.environ.get(PREVIOUS_KEY_VARIABLE), False)


def current_keys() -> SecretKeys:
    return _configured(os.environ.get(KEY_VARIABLE), os.environ.get(PREVIOUS_KEY_VARIABLE), _local_allowed)


def secret_key() -> bytes:
    """The key new values are written under."""
    return current_keys().current


def secret_keys() -> tuple[bytes, ...]:
    """The current key, then the previous one during a rotation: values are read under each."""
    return current_keys().all


def key_id(key: bytes) -> str:
    """A short name for a key (8 hex digits), to store beside a value keyed with it; reveals nothing."""
    return hmac.new(key, b"key-id", hashlib.sha256).hexdigest()[:8]


@lru_cache(maxsize=8)
def _configured(configured: str | None, previous: str | None, local_allowed: bool) -> SecretKeys:
    previous_key = previous.encode() if previous else None
    if configured:
        if len(configured) < MIN_KEY_LENGTH:
            raise SecretKeyError(N_("EHR_SECRET_KEY is too short ({length} characters, at least {minimum}). "
                                    "Make one with: {command}"),
                                 length=len(configured), minimum=MIN_KEY_LENGTH, command=MAKE_A_KEY)
        current = configured.encode()
        return SecretKeys(current, previous_key if previous_key != current else None, local=False)
    if not local_allowed:
        raise SecretKeyError(N_("EHR_SECRET_KEY is not set. Make one with: {command} and give every "
                                "worker the same value."), command=MAKE_A_KEY)
    return SecretKeys(_local_key(LOCAL_KEY_FILE), previous_key, local=True)


def _local_key(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return path.read_bytes().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        log.warning("EHR_SECRET_KEY is not set; created a local key in %s (demo and tests only)", path)
    return path.read_bytes().strip()


def _digest(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def keyed_digest(message: bytes) -> str:
    """HMAC-SHA256 under the current key: what is stored."""
    return _digest(secret_key(), message)


def keyed_digests(message: bytes) -> tuple[str, ...]:
    """The HMAC under every configured key, current first: what a stored value may be."""
    return tuple(_digest(key, message) for key in secret_keys())


def personal_id_key(personal_id: str) -> str:
    """The fingerprint of a personal ID written to the attempt log."""
    return keyed_digest(personal_id.encode())


def personal_id_keys(personal_id: str) -> tuple[str, ...]:
    """The ID's fingerprint under every configured key, current first: count attempts under all."""
    return keyed_digests(personal_id.encode())


def phone_key(phone: str) -> str:
    """A caller's number (`+84…`) as an account key: USSD accounts are known by number only."""
    return keyed_digest(b"phone:" + phone.encode())


def phone_keys(phone: str) -> tuple[str, ...]:
    """The number's account key under every configured key, current first."""
    return keyed_digests(b"phone:" + phone.encode())
