"""Factories for clusters, plus the PEM material and kubeconfigs tests register them with.

Clusters go through `cluster_register`, so each is checked, encrypted and audited as a real registration is.
"""

from __future__ import annotations

import base64
import datetime
import functools
from dataclasses import dataclass
from typing import Any

import factory
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from control_plane import services
from control_plane.kube.kubeconfig import build_credentials
from control_plane.models import Cluster


@dataclass(frozen=True)
class Pki:
    """A CA and a client certificate it signed, as PEM text (what kubeconfigs carry base64-encoded)."""

    ca_pem: str
    client_cert_pem: str
    client_key_pem: str


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, signer: Any, *, ca: bool) -> str:
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(signer, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


@functools.cache
def pki() -> Pki:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    client_key = ec.generate_private_key(ec.SECP256R1())
    key_pem = client_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return Pki(
        ca_pem=_certificate("devplat-test-ca", ca_key, "devplat-test-ca", ca_key, ca=True),
        client_cert_pem=_certificate("devplat-admin", client_key, "devplat-test-ca", ca_key, ca=False),
        client_key_pem=key_pem,
    )


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def kubeconfig(
    server: str,
    *,
    user: dict[str, Any] | None = None,
    cluster: dict[str, Any] | None = None,
    extra_users: list[dict[str, Any]] | None = None,
    context: str = "admin@test",
) -> str:
    """A kubeconfig with one context; `user` defaults to an inline token, `cluster` adds fields beside `server`."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test", "cluster": {"server": server, **(cluster or {})}}],
        "users": [{"name": "admin", "user": user if user is not None else {"token": "kubeconfig-token-0123"}}]
        + (extra_users or []),
        "contexts": [{"name": context, "context": {"cluster": "test", "user": "admin"}}],
        "current-context": context,
    }
    return yaml.safe_dump(document, sort_keys=False)


class ClusterFactory(factory.django.DjangoModelFactory):
    """A registered cluster; `token`, `ca_data` and `client_cert=True` say what its credentials hold."""

    class Meta:
        model = Cluster

    name = factory.Sequence(lambda n: f"cluster-{n}")
    server = "https://127.0.0.1:6443"
    token: Any = factory.Sequence(lambda n: f"factory-token-{n:04d}")
    ca_data: str | None = None
    client_cert = False
    enabled = True
    labels = factory.LazyFunction(dict)

    @classmethod
    def _create(cls, model_class: type[Cluster], *args: Any, **kwargs: Any) -> Cluster:
        material = pki()
        credentials = build_credentials(
            server=kwargs["server"],
            token=kwargs["token"],
            ca_data=kwargs["ca_data"],
            client_cert_data=material.client_cert_pem if kwargs["client_cert"] else None,
            client_key_data=material.client_key_pem if kwargs["client_cert"] else None,
        )
        return services.cluster_register(
            name=kwargs["name"], credentials=credentials, enabled=kwargs["enabled"], labels=kwargs["labels"]
        )
