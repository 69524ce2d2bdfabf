"""Cluster credentials at rest (R16): `cryptography`'s MultiFernet under keys from the environment.

The keys are `DEVPLAT_CLUSTER_KEYS`, newest first, and never touch the database; a dump of it holds only Fernet
tokens. New ciphertext uses the newest key and every listed key decrypts, so a key is rotated by listing a new one
first, re-encrypting everything (`rotate`, behind `devplat clusters rotate-keys`), then removing the old one.
"""

from __future__ import annotations

import dataclasses
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from control_plane.kube.credentials import ClusterCredentials

_MAKE_KEY = "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"


class CredentialsUnreadable(Exception):
    """No configured key decrypts a stored ciphertext: the key that wrote it was removed too early."""


def encrypt(credentials: ClusterCredentials) -> str:
    """A Fernet token (ASCII) holding the credentials, under the newest key."""
    payload = json.dumps(dataclasses.asdict(credentials), separators=(",", ":"))
    return _fernet().encrypt(payload.encode()).decode("ascii")


def decrypt(ciphertext: str) -> ClusterCredentials:
    try:
        payload = json.loads(_fernet().decrypt(ciphertext.encode("ascii")))
    except InvalidToken:
        raise CredentialsUnreadable(_UNREADABLE) from None
    return ClusterCredentials(**{f.name: payload.get(f.name) for f in dataclasses.fields(ClusterCredentials)})


def rotate(ciphertext: str) -> str:
    """The same credentials re-encrypted under the newest key, readable once the older keys are removed."""
    try:
        return _fernet().rotate(ciphertext.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise CredentialsUnreadable(_UNREADABLE) from None


_UNREADABLE = (
    "none of the keys in DEVPLAT_CLUSTER_KEYS decrypts the stored credentials: the key that encrypted them was "
    "removed before `devplat clusters rotate-keys` ran. Put that key back (after the newest), or register the "
    "cluster's credentials again."
)


def _fernet() -> MultiFernet:
    """Built per call from the settings, so a changed key list takes effect at once (and in tests)."""
    keys = list(settings.DEVPLAT_CLUSTER_KEYS)
    if not keys:
        raise ImproperlyConfigured(
            f"DEVPLAT_CLUSTER_KEYS is empty; set one or more Fernet keys (make one with {_MAKE_KEY})."
        )
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"DEVPLAT_CLUSTER_KEYS key #{position} is not a Fernet key (32 url-safe base64-encoded bytes); "
                f"make one with {_MAKE_KEY}."
            ) from None
    return MultiFernet(fernets)
