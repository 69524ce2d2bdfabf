"""Credentials admins register: a kubeconfig, or a server URL with a token, turned into `ClusterCredentials` (R15).

devplat stores only credentials embedded as data and uses them from its own processes, so anything in a
kubeconfig that would make the client run a program (`exec`, `auth-provider`), read a file on the devplat host
(`tokenFile`, `client-certificate`, `client-key`, `certificate-authority`), skip TLS verification or go through a
proxy is refused, wherever it appears in the file. Field names follow the kubeconfig v1 reference
(https://kubernetes.io/docs/reference/config-api/kubeconfig.v1/). Refusal messages name the entry and the field,
never a value: values may be secrets.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from control_plane.kube.credentials import ClusterCredentials

KUBECONFIG_MAX_CHARS = 256 * 1024
TOKEN_MAX_CHARS = 16 * 1024
# RFC 6750 b64token, which covers ServiceAccount JWTs and bootstrap tokens; nothing that could split a header.
_TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")

_EMBED = "embed the data instead: `kubectl config view --minify --flatten --context CTX` writes it inline"
_SERVICE_ACCOUNT = "use a ServiceAccount token instead (`kubectl create token NAME -n NAMESPACE`)"
# kubeconfig field -> (what it would make devplat do, what the admin can do instead)
USER_FIELDS_REFUSED: dict[str, tuple[str, str]] = {
    "exec": ("runs a program on the devplat host to obtain credentials", _SERVICE_ACCOUNT),
    "auth-provider": ("delegates to an auth-provider plugin on the devplat host", _SERVICE_ACCOUNT),
    "tokenFile": ("reads the token from a file on the devplat host", _EMBED),
    "client-certificate": ("reads the client certificate from a file on the devplat host", _EMBED),
    "client-key": ("reads the client key from a file on the devplat host", _EMBED),
    "username": ("uses basic authentication, which Kubernetes no longer supports", _SERVICE_ACCOUNT),
    "password": ("uses basic authentication, which Kubernetes no longer supports", _SERVICE_ACCOUNT),
    "as": ("impersonates another identity", "register credentials of the identity devplat should act as"),
    "as-uid": ("impersonates another identity", "register credentials of the identity devplat should act as"),
    "as-groups": ("impersonates other groups", "register credentials of the identity devplat should act as"),
    "as-user-extra": ("impersonates another identity", "register credentials of the identity devplat should act as"),
}
CLUSTER_FIELDS_REFUSED: dict[str, tuple[str, str]] = {
    "certificate-authority": ("reads the CA certificate from a file on the devplat host", _EMBED),
    "insecure-skip-tls-verify": (
        "turns off TLS certificate verification",
        "remove it and give the cluster's CA as certificate-authority-data",
    ),
    "proxy-url": ("sends traffic through a proxy", "remove it; devplat connects to API servers directly"),
    "tls-server-name": (
        "overrides the name the server certificate is checked against",
        "remove it and use a server URL whose host the certificate names",
    ),
}

# How messages name each input when the caller does not say (the server-and-token path of CLI, API and admin).
DEFAULT_NAMES = {
    "token": "The token",
    "ca_data": "The CA certificate (ca_data)",
    "client_cert_data": "The client certificate",
    "client_key_data": "The client key",
    "credentials": "The registration",
}


class CredentialsRefused(ValueError):
    """Credentials devplat will not store. `field` names the input at fault; the message says why and what to do."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class KubeconfigRefused(CredentialsRefused):
    """A kubeconfig devplat will not use; the message names the entry and field at fault, never a value."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="kubeconfig")


def parse_kubeconfig(text: str, context: str | None = None) -> ClusterCredentials:
    """The credentials of `context` (default: the kubeconfig's current context), refusing anything unsafe."""
    config = _load(text)
    _refuse_unsafe_entries(config)
    name = context or config.get("current-context") or ""
    if not name:
        raise KubeconfigRefused(
            "The kubeconfig has no current-context; name the context to use (--context, or `context` in the API). "
            f"Contexts in it: {_names(config, 'contexts')}."
        )
    ctx = _entry(config, "contexts", "context", name)
    cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
    if not cluster_name or not user_name:
        raise KubeconfigRefused(f'The kubeconfig\'s context "{name}" must name both a cluster and a user.')
    cluster = _entry(config, "clusters", "cluster", cluster_name)
    user = _entry(config, "users", "user", user_name)
    if not cluster.get("server"):
        raise KubeconfigRefused(f'The kubeconfig\'s cluster "{cluster_name}" has no server URL.')
    cluster_at, user_at = f'cluster "{cluster_name}"', f'user "{user_name}"'
    try:
        return build_credentials(
            server=str(cluster["server"]),
            token=_text(user.get("token"), f"The kubeconfig's {user_at} token"),
            ca_data=_pem_data(cluster, "certificate-authority-data", cluster_at),
            client_cert_data=_pem_data(user, "client-certificate-data", user_at),
            client_key_data=_pem_data(user, "client-key-data", user_at),
            names={
                "token": f"The kubeconfig's {user_at} token",
                "ca_data": f"The kubeconfig's {cluster_at} certificate-authority-data",
                "client_cert_data": f"The kubeconfig's {user_at} client-certificate-data",
                "client_key_data": f"The kubeconfig's {user_at} client-key-data",
                "credentials": f"The kubeconfig's {user_at}",
            },
        )
    except CredentialsRefused as exc:
        raise KubeconfigRefused(str(exc)) from None


def build_credentials(
    *,
    server: str,
    token: str | None = None,
    ca_data: str | None = None,
    client_cert_data: str | None = None,
    client_key_data: str | None = None,
    names: Mapping[str, str] | None = None,
) -> ClusterCredentials:
    """Checked credentials: a well-formed token and/or a matching client certificate and key, PEM that parses.

    `names` overrides how messages name each input (`token`, `ca_data`, ...; see DEFAULT_NAMES).
    """
    names = {**DEFAULT_NAMES, **(names or {})}

    def refuse(field: str, reason: str) -> CredentialsRefused:
        return CredentialsRefused(f"{names[field]} {reason}", field=field)

    ca_data, client_cert_data, client_key_data = (_pem(v) for v in (ca_data, client_cert_data, client_key_data))
    token = (token or "").strip() or None
    if token is not None and (len(token) > TOKEN_MAX_CHARS or not _TOKEN.match(token)):
        raise refuse("token", "is not a bearer token: expected up to 16 KiB of letters, digits and -._~+/=.")
    if bool(client_cert_data) != bool(client_key_data):
        raise refuse("credentials", "needs both a client certificate and its key, or neither.")
    if token is None and not client_cert_data:
        raise refuse(
            "credentials",
            "holds no credentials: give a bearer token (a ServiceAccount token is best) or a client certificate "
            "with its key.",
        )
    if ca_data:
        _certificates(ca_data, lambda reason: refuse("ca_data", reason))
    if client_cert_data and client_key_data:
        _key_pair(client_cert_data, client_key_data, refuse)
    return ClusterCredentials(
        server=server.strip().rstrip("/"),
        token=token,
        ca_data=ca_data,
        client_cert_data=client_cert_data,
        client_key_data=client_key_data,
    )


def _pem(value: str | None) -> str | None:
    """PEM text in one form whichever face it came through (forms and serializers trim the final newline)."""
    return value.strip() + "\n" if value and value.strip() else None


def _load(text: str) -> dict[str, Any]:
    if len(text) > KUBECONFIG_MAX_CHARS:
        raise KubeconfigRefused(
            f"The kubeconfig is larger than {KUBECONFIG_MAX_CHARS // 1024} KiB; export one context."
        )
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # The parser's own message quotes the offending line, which may hold a secret: give the position only.
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise KubeconfigRefused(f"The kubeconfig is not valid YAML{where}.") from None
    if not isinstance(config, dict):
        raise KubeconfigRefused("The kubeconfig is not a YAML mapping with clusters, users and contexts.")
    if config.get("kind", "Config") != "Config":
        raise KubeconfigRefused("The document is not a kubeconfig: its kind is not Config.")
    for section in ("clusters", "users", "contexts"):
        entries = config.get(section) or []
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise KubeconfigRefused(f"The kubeconfig's {section} must be a list of named entries.")
    return config


def _refuse_unsafe_entries(config: dict[str, Any]) -> None:
    """Every user and cluster entry, not only the chosen context's: the file as a whole must be safe to accept."""
    for section, key, refused in (
        ("users", "user", USER_FIELDS_REFUSED),
        ("clusters", "cluster", CLUSTER_FIELDS_REFUSED),
    ):
        for entry in config.get(section) or []:
            body = entry.get(key) or {}
            if not isinstance(body, dict):
                raise KubeconfigRefused(f'The kubeconfig\'s {key} "{entry.get("name", "")}" is not a mapping.')
            for field, (does, instead) in refused.items():
                if _set(body.get(field)):
                    raise KubeconfigRefused(
                        f'The kubeconfig\'s {key} "{entry.get("name", "")}" has {field}, which {does}; '
                        f"devplat refuses it: {instead}."
                    )


def _set(value: Any) -> bool:
    return value not in (None, False, "", [], {})


def _entry(config: dict[str, Any], section: str, key: str, name: Any) -> dict[str, Any]:
    for entry in config.get(section) or []:
        if entry.get("name") == name:
            body = entry.get(key) or {}
            return body if isinstance(body, dict) else {}
    singular = section.rstrip("s")
    raise KubeconfigRefused(f'The kubeconfig has no {singular} named "{name}"; it has: {_names(config, section)}.')


def _names(config: dict[str, Any], section: str) -> str:
    return ", ".join(str(e.get("name", "")) for e in config.get(section) or []) or "none"


def _text(value: Any, subject: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise KubeconfigRefused(f"{subject} is not a string.")
    return value


def _pem_data(body: dict[str, Any], field: str, subject: str) -> str | None:
    """A kubeconfig `*-data` field: base64 of PEM text."""
    value = body.get(field)
    if not value:
        return None
    try:
        return base64.b64decode("".join(str(value).split()), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        raise KubeconfigRefused(f"The kubeconfig's {subject} {field} is not base64-encoded PEM.") from None


def _certificates(pem: str, refuse: Callable[[str], CredentialsRefused]) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        raise refuse("is not PEM certificates (-----BEGIN CERTIFICATE----- blocks).") from None


def _key_pair(cert_pem: str, key_pem: str, refuse: Callable[[str, str], CredentialsRefused]) -> None:
    [certificate, *_] = _certificates(cert_pem, lambda reason: refuse("client_cert_data", reason))
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except TypeError:
        raise refuse("client_key_data", "is encrypted with a passphrase; give the key unencrypted.") from None
    except (ValueError, binascii.Error):
        raise refuse("client_key_data", "is not a PEM private key.") from None
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if certificate.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        raise refuse("client_key_data", "does not belong to the client certificate.")
