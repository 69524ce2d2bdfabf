"""One `ApiClient` per cluster per process, with the connection behaviour every devplat request relies on.

Each client's urllib3 pool is built here rather than by the kubernetes package, because devplat needs what its
`Configuration` cannot express:
- TLS from credentials held as data: the CA and the client certificate are loaded into one `SSLContext` once, the
  client key passing through an anonymous in-memory file (Python's `ssl` loads keys only from files);
- no redirects followed (a 3xx comes back as a response and the client reports it), so a compromised or
  misconfigured API server cannot bounce devplat, with its bearer token, to another address;
- no retries inside the pool: callers own retry policy (the sync operator backs off with jitter), and a request
  that was never retried fails within the timeouts it was given;
- TCP keepalive with client-go's timings, so an idle watch through a NAT or load balancer is noticed;
- no proxy, whatever the environment says: devplat connects to API servers directly (the kubeconfig parser refuses
  `proxy-url` for the same reason).

Clients are kept per cluster name and replaced when that cluster's credentials change; a forked child (a Celery
prefork worker) starts with none, since pooled sockets must not be shared across processes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import ssl
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import urllib3
from kubernetes.client import ApiClient, Configuration
from kubernetes.utils.keepalive import tcp_keepalive_socket_options
from urllib3.util.retry import Retry
from urllib3.util.ssl_ import create_urllib3_context

from control_plane.kube.credentials import ClusterCredentials

USER_AGENT = "devplat"
# The sync holds one long-lived watch connection per resource type; a cluster with Crossplane serves dozens.
CONNECTIONS_PER_CLUSTER = 128
# total=0: nothing is retried; raise_on_redirect=False: a 3xx is returned as the response instead of followed.
NO_RETRIES_NO_REDIRECTS = Retry(total=0, redirect=0, raise_on_redirect=False, raise_on_status=False)

_lock = threading.Lock()
_clients: dict[str, tuple[str, ApiClient]] = {}


def api_client(name: str, credentials: ClusterCredentials) -> ApiClient:
    """The process's client for cluster `name`; a new one (the old one closed) if its credentials changed."""
    fingerprint = credentials_fingerprint(credentials)
    with _lock:
        current = _clients.get(name)
        if current is not None and current[0] == fingerprint:
            return current[1]
        client = build_api_client(credentials)
        _clients[name] = (fingerprint, client)
    if current is not None:
        current[1].close()  # idle connections close now; a request in flight finishes on its own connection
    return client


def credentials_fingerprint(credentials: ClusterCredentials) -> str:
    """A digest of everything that makes a connection different; the secrets themselves are not kept as keys."""
    fields = (
        credentials.server,
        credentials.token,
        credentials.ca_data,
        credentials.client_cert_data,
        credentials.client_key_data,
    )
    return hashlib.sha256("\0".join(field or "" for field in fields).encode()).hexdigest()


def build_api_client(credentials: ClusterCredentials) -> ApiClient:
    configuration = Configuration(host=credentials.server)
    configuration.proxy = None  # also stops the environment's proxy variables from applying
    if credentials.token:
        configuration.api_key = {"BearerToken": credentials.token}
        configuration.api_key_prefix = {"BearerToken": "Bearer"}
    client = ApiClient(configuration)
    client.user_agent = USER_AGENT
    client.rest_client.pool_manager = urllib3.PoolManager(
        num_pools=4,
        maxsize=CONNECTIONS_PER_CLUSTER,
        retries=NO_RETRIES_NO_REDIRECTS,
        socket_options=tcp_keepalive_socket_options(),
        ssl_context=tls_context(credentials) if credentials.server.startswith("https:") else None,
    )
    return client


def tls_context(credentials: ClusterCredentials) -> ssl.SSLContext:
    """Verify the server against the cluster's CA (the system's roots when none is given); present the client
    certificate when there is one."""
    context = create_urllib3_context()
    if credentials.ca_data:
        context.load_verify_locations(cadata=credentials.ca_data)
    else:
        context.load_default_certs()
    if credentials.client_cert_data and credentials.client_key_data:
        chain = f"{credentials.client_cert_data.strip()}\n{credentials.client_key_data.strip()}\n"
        with _transient_file(chain) as path:
            context.load_cert_chain(path)
    return context


@contextlib.contextmanager
def _transient_file(text: str) -> Iterator[str]:
    """A path to `text` that exists only while the block runs: an anonymous memory file on Linux, else a file in a
    private temporary directory."""
    if hasattr(os, "memfd_create"):
        descriptor = os.memfd_create("devplat-client-certificate")
        try:
            os.write(descriptor, text.encode())
            yield f"/proc/self/fd/{descriptor}"
        finally:
            os.close(descriptor)
        return
    with tempfile.TemporaryDirectory(prefix="devplat-") as directory:  # created 0700
        path = Path(directory) / "client.pem"
        path.touch(mode=0o600)
        path.write_text(text)
        yield str(path)


def _forget_clients_after_fork() -> None:
    global _lock
    _lock = threading.Lock()
    _clients.clear()


os.register_at_fork(after_in_child=_forget_clients_after_fork)
