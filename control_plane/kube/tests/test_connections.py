"""How the client connects: TLS from credentials held as data, in-cluster service accounts, and no redirects.

The servers here are small stdlib HTTP(S) servers on loopback, because the sandbox speaks plain HTTP only.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from control_plane.kube.client import connect, in_cluster
from control_plane.kube.credentials import ClusterCredentials
from control_plane.kube.errors import KubeError, KubeUnauthorized, KubeUnreachable

VERSION = {"major": "1", "minor": "31", "gitVersion": "v1.31.4"}


@dataclass
class Authority:
    """A throwaway certificate authority that signs server and client certificates."""

    name: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    def __post_init__(self) -> None:
        self.certificate = self._sign(self.name, self.key.public_key(), ca=True)

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def issue(self, common_name: str, *, ip: str | None = None) -> tuple[str, str]:
        """(certificate PEM, key PEM) for a server (with an IP address SAN) or a client."""
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = self._sign(common_name, key.public_key(), ca=False, ip=ip)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return certificate.public_bytes(serialization.Encoding.PEM).decode(), key_pem

    def _sign(self, common_name: str, public_key: Any, *, ca: bool, ip: str | None = None) -> x509.Certificate:
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.name)]))
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            ).add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        else:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
            )
        if ip:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False
            )
        return builder.sign(self.key, hashes.SHA256())


@dataclass
class Seen:
    """What the TLS server observed of its clients."""

    client_names: list[str | None] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)


class ApiHandler(BaseHTTPRequestHandler):
    """Answers /version; every other path is a 404 Status, as an API server without that group would."""

    protocol_version = "HTTP/1.1"
    server: Any

    def do_GET(self) -> None:
        peer = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
        subject = dict(pair[0] for pair in peer["subject"]) if peer else {}
        self.server.seen.client_names.append(subject.get("commonName"))
        self.server.seen.authorizations.append(self.headers.get("Authorization"))
        if self.path == "/version":
            self._answer(200, VERSION)
        else:
            self._answer(
                404,
                {
                    "kind": "Status",
                    "status": "Failure",
                    "reason": "NotFound",
                    "code": 404,
                    "message": "the server could not find the requested resource",
                },
            )

    def _answer(self, code: int, body: dict[str, Any]) -> None:
        data = orjson.dumps(body)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None) -> Iterator[Any]:
    """A threaded HTTP(S) server on 127.0.0.1 for the block; `server.seen` records its clients."""
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.seen = Seen()
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def authority() -> Authority:
    return Authority("devplat-test-cluster-ca")


def server_tls(
    authority: Authority, *, client_certificates: ssl.VerifyMode, ip: str | None = "127.0.0.1"
) -> ssl.SSLContext:
    certificate, key = authority.issue("kube-apiserver", ip=ip)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with _pem_files(certificate + key) as path:
        context.load_cert_chain(path)
    context.load_verify_locations(cadata=authority.pem)
    context.verify_mode = client_certificates
    return context


@contextlib.contextmanager
def _pem_files(text: str) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "chain.pem"
        path.write_text(text)
        yield str(path)


def https_url(server: Any) -> str:
    return f"https://127.0.0.1:{server.server_address[1]}"


# TLS.


def test_a_client_certificate_given_as_data_is_presented_and_the_server_verified_by_the_cluster_ca(
    authority: Authority,
) -> None:
    client_certificate, client_key = authority.issue("devplat-admin")
    with serving(ApiHandler, server_tls(authority, client_certificates=ssl.CERT_REQUIRED)) as server:
        credentials = ClusterCredentials(
            server=https_url(server),
            ca_data=authority.pem,
            client_cert_data=client_certificate,
            client_key_data=client_key,
        )

        probe = connect("tls-client-certificate", credentials).probe()

    assert probe.kubernetes_version == "v1.31.4"
    assert probe.crossplane_version is None
    assert server.seen.client_names[0] == "devplat-admin"


def test_a_server_certificate_from_another_authority_is_refused(authority: Authority) -> None:
    stranger = Authority("someone-elses-ca")
    with serving(ApiHandler, server_tls(authority, client_certificates=ssl.CERT_NONE)) as server:
        credentials = ClusterCredentials(server=https_url(server), token="t0ken", ca_data=stranger.pem)

        with pytest.raises(KubeUnreachable, match="TLS handshake") as refused:
            connect("tls-wrong-ca", credentials).probe()

    assert "certificate verify failed" in refused.value.message
    assert server.seen.authorizations == [], "the token never left the client"


def test_a_server_certificate_that_does_not_name_the_servers_address_is_refused(authority: Authority) -> None:
    with serving(ApiHandler, server_tls(authority, client_certificates=ssl.CERT_NONE, ip="127.0.0.2")) as server:
        credentials = ClusterCredentials(server=https_url(server), token="t0ken", ca_data=authority.pem)

        with pytest.raises(KubeUnreachable, match="mismatch"):
            connect("tls-wrong-name", credentials).probe()

    assert server.seen.authorizations == []


def test_in_cluster_uses_the_pods_service_account_token_and_ca(
    authority: Authority, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "token").write_text("service-account-token\n")
    (tmp_path / "ca.crt").write_text(authority.pem)
    with serving(ApiHandler, server_tls(authority, client_certificates=ssl.CERT_NONE)) as server:
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(server.server_address[1]))

        probe = in_cluster(service_account_dir=tmp_path).probe()

    assert probe.kubernetes_version == "v1.31.4"
    assert server.seen.authorizations[0] == "Bearer service-account-token"


def test_in_cluster_outside_a_pod_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    with pytest.raises(KubeError, match="Not running in a Kubernetes pod"):
        in_cluster()


# Redirects.


class Redirecting(BaseHTTPRequestHandler):
    """Answers every request with a 302 to the address in `server.target`."""

    protocol_version = "HTTP/1.1"
    server: Any

    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", f"{self.server.target}{self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_redirect_is_reported_not_followed() -> None:
    target = socket.create_server(("127.0.0.1", 0))
    target.setblocking(False)
    target_url = f"http://127.0.0.1:{target.getsockname()[1]}"
    with serving(Redirecting) as server:
        server.target = target_url

        with pytest.raises(KubeError) as redirected:
            connect(
                "redirecting", ClusterCredentials(server=f"http://127.0.0.1:{server.server_address[1]}", token="t0ken")
            ).probe()

    assert redirected.value.status == 302
    assert target_url in redirected.value.message
    with pytest.raises(BlockingIOError):
        target.accept()  # nothing ever connected to the redirect's target
    target.close()


def test_unauthorized_answers_raise_unauthorized() -> None:
    class Forbidding(ApiHandler):
        def do_GET(self) -> None:
            self._answer(
                403,
                {
                    "kind": "Status",
                    "status": "Failure",
                    "reason": "Forbidden",
                    "code": 403,
                    "message": 'namespaces is forbidden: User "system:anonymous" cannot list resource',
                },
            )

    with serving(Forbidding) as server:
        client = connect(
            "forbidding", ClusterCredentials(server=f"http://127.0.0.1:{server.server_address[1]}", token="t0ken")
        )
        with pytest.raises(KubeUnauthorized, match="system:anonymous") as forbidden:
            client.probe()

    assert (forbidden.value.status, forbidden.value.reason) == (403, "Forbidden")
