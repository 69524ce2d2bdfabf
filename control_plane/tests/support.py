"""What the cluster security tests share: a loopback listener that counts connections, a log of every outbound
connection attempt, the malicious inputs (R15), and a dump of every text column in the database (R16)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from control_plane.tests.factories import b64, kubeconfig, pki


@dataclass
class Listener:
    """TCP listeners on 127.0.0.1 and [::1], same port, never accepting: anything that connects queues up."""

    port: int
    sockets: list[socket.socket] = field(default_factory=list)

    def inbound(self) -> int:
        """How many connections arrived (accepted here, then closed)."""
        count = 0
        for sock in self.sockets:
            while True:
                try:
                    peer, _ = sock.accept()
                except BlockingIOError:
                    break
                peer.close()
                count += 1
        return count


@contextlib.contextmanager
def listening() -> Iterator[Listener]:
    v4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    v4.bind(("127.0.0.1", 0))
    port = v4.getsockname()[1]
    v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    v6.bind(("::1", port))
    listener = Listener(port=port, sockets=[v4, v6])
    for sock in listener.sockets:
        sock.listen(16)
        sock.setblocking(False)
    try:
        yield listener
    finally:
        for sock in listener.sockets:
            sock.close()


@dataclass
class ConnectionLog:
    """Every address a Python socket in this process tried to connect to while the log was open."""

    attempts: list[Any] = field(default_factory=list)

    def to(self, *, port: int) -> list[Any]:
        return [address for address in self.attempts if isinstance(address, tuple) and address[1] == port]


def watch_connections(monkeypatch: Any) -> ConnectionLog:
    """Record (and let through) `connect`/`connect_ex` on every socket: an observer, not a stand-in."""
    log = ConnectionLog()
    for name in ("connect", "connect_ex"):
        original = getattr(socket.socket, name)

        def recording(sock: socket.socket, address: Any, _original: Any = original) -> Any:
            log.attempts.append(address)
            return _original(sock, address)

        monkeypatch.setattr(socket.socket, name, recording)
    return log


# --- malicious inputs ------------------------------------------------------------------------------------------------
# URLs, with the loopback flag off (as in production). `{port}` is the listener's: if anything connected to a
# loopback one, the listener would see it. Each maps to a fragment of the reason the refusal must give.
MALICIOUS_URLS = {
    "http non-loopback": ("http://203.0.113.7:{port}", "must be reached over https"),
    "http loopback": ("http://127.0.0.1:{port}", "must be reached over https"),
    "loopback v4": ("https://127.0.0.1:{port}", "127.0.0.1 is a loopback address"),
    "loopback v6": ("https://[::1]:{port}", "::1 is a loopback address"),
    "loopback by name": ("https://localhost:{port}", "'localhost' resolves to 127.0.0.1, which is a loopback address"),
    "loopback as a decimal": ("https://2130706433:{port}", "resolves to 127.0.0.1, which is a loopback address"),
    "loopback mapped into v6": ("https://[::ffff:127.0.0.1]:{port}", "is a loopback address"),
    "unspecified": ("https://0.0.0.0:{port}", "unspecified"),
    "metadata": ("https://169.254.169.254/latest/meta-data/", "cloud metadata service"),
    "metadata mapped into v6": ("https://[::ffff:169.254.169.254]/", "cloud metadata service"),
    "metadata ipv6": ("https://[fd00:ec2::254]/", "cloud metadata service"),
    "link-local": ("https://169.254.10.1:6443", "link-local"),
    "private": ("https://10.1.2.3:6443", "private range 10.0.0.0/8"),
    "credentials in the url": ("https://admin:hunter2@127.0.0.1:{port}", "user name or password"),
}

# Kubeconfig pieces. The server is the listener (loopback allowed, as in tests), so a connection would show.
PATH = "/etc/devplat-test/does-not-matter"
MALICIOUS_KUBECONFIGS: dict[str, tuple[dict[str, Any], str]] = {
    "exec": (
        {
            "user": {
                "exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "/bin/sh", "args": ["-c", "id"]}
            }
        },
        "has exec, which runs a program on the devplat host",
    ),
    "auth-provider": (
        {"user": {"auth-provider": {"name": "oidc", "config": {"client-id": "x", "idp-issuer-url": "https://x"}}}},
        "has auth-provider",
    ),
    "tokenFile": ({"user": {"tokenFile": PATH}}, "has tokenFile, which reads the token from a file"),
    "client-certificate path": (
        {"user": {"client-certificate": PATH, "client-key-data": b64(pki().client_key_pem)}},
        "has client-certificate, which reads the client certificate from a file",
    ),
    "client-key path": (
        {"user": {"client-certificate-data": b64(pki().client_cert_pem), "client-key": PATH}},
        "has client-key, which reads the client key from a file",
    ),
    "certificate-authority path": (
        {"cluster": {"certificate-authority": PATH}},
        "has certificate-authority, which reads the CA certificate from a file",
    ),
    "insecure-skip-tls-verify": (
        {"cluster": {"insecure-skip-tls-verify": True}},
        "has insecure-skip-tls-verify, which turns off TLS certificate verification",
    ),
    "proxy-url": ({"cluster": {"proxy-url": "http://127.0.0.1:3128"}}, "has proxy-url"),
    "exec in an entry the context does not use": (
        {"extra_users": [{"name": "other", "user": {"exec": {"command": "/bin/sh"}}}]},
        'user "other" has exec',
    ),
}


def malicious_kubeconfig(case: str, server: str) -> tuple[str, str]:
    """(kubeconfig text, reason fragment) for a case of MALICIOUS_KUBECONFIGS."""
    pieces, reason = MALICIOUS_KUBECONFIGS[case]
    return kubeconfig(server, **pieces), reason


# --- the database as a dump would show it ----------------------------------------------------------------------------
TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb", "bytea")


def database_text() -> dict[str, str]:
    """Every text, JSON and bytea column of every table in the schema, as text: `{"table.column": contents}`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND data_type = ANY(%s) ORDER BY table_name, column_name",
            [list(TEXT_TYPES)],
        )
        columns = cursor.fetchall()
        dump = {}
        for table, column, data_type in columns:
            value = (
                f"encode({connection.ops.quote_name(column)}, 'escape')"
                if data_type == "bytea"
                else (f"{connection.ops.quote_name(column)}::text")
            )
            cursor.execute(f"SELECT {value} FROM {connection.ops.quote_name(table)}")  # noqa: S608 (catalog names)
            dump[f"{table}.{column}"] = "\n".join(row[0] for row in cursor.fetchall() if row[0] is not None)
    return dump
