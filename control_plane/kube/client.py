"""devplat's client for one Kubernetes cluster: raw JSON in and out, our own exceptions, timeouts on every call.

Requests go through the kubernetes package's `ApiClient` (auth header, URL building, its urllib3 pool, see `pool`),
but never through its typed API classes or models: list pages and watch events are decoded with orjson straight
from the response bytes, an order of magnitude faster than model deserialization (PERFORMANCE.md), and the typed
`patch_*` calls of kubernetes 37.x return None when a server-side apply creates (201). Every request has a connect
and a read timeout; a watch's read timeout outlasts its server-side `timeoutSeconds`, which the server alone honours.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException
from urllib3 import HTTPResponse
from urllib3.exceptions import HTTPError

from control_plane.kube import pool
from control_plane.kube.credentials import ClusterCredentials
from control_plane.kube.discovery import ResourceType, select_resource_types
from control_plane.kube.endpoints import check_server_url
from control_plane.kube.errors import (
    KubeError,
    KubeNotFound,
    KubeServerError,
    KubeUnauthorized,
    error_from_response,
    error_from_status,
    error_from_transport,
)
from control_plane.kube.kubeconfig import parse_kubeconfig
from devplat.core.readahead import read_ahead

logger = logging.getLogger(__name__)

APPLY_PATCH = "application/apply-patch+yaml"
# How long past its timeoutSeconds a watch may stay silent before the client decides the stream is dead.
WATCH_READ_GRACE = 5.0
READ_SIZE = 1 << 20
DISCOVERY_CONCURRENCY = 8
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
CROSSPLANE_GROUP = "apiextensions.crossplane.io"
CROSSPLANE_NAMESPACE = "crossplane-system"
CROSSPLANE_DEPLOYMENT = "crossplane"
VERSION_LABEL = "app.kubernetes.io/version"
DEPLOYMENTS = ResourceType("apps", "v1", "Deployment", "deployments", namespaced=True)

Query = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Probe:
    """What a cluster runs. `crossplane_version` is None without Crossplane, "unknown" when its version is hidden."""

    kubernetes_version: str
    crossplane_version: str | None


def connect(
    name: str, credentials: ClusterCredentials, *, connect_timeout: float = 5, read_timeout: float = 30
) -> KubeClient:
    """A client for cluster `name`, sharing the process's connection pool for these credentials.

    The server URL is checked (`endpoints.check_server_url`, raising `EndpointRefused`) on every call, before any
    connection: a name that resolved to an allowed address yesterday may not today.
    """
    check_server_url(credentials.server)
    return KubeClient(
        name,
        pool.api_client(name, credentials),
        server=credentials.server,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )


def from_kubeconfig(
    name: str, kubeconfig: str, *, context: str | None = None, connect_timeout: float = 5, read_timeout: float = 30
) -> KubeClient:
    """A client from a kubeconfig's context (its current context by default); unsafe kubeconfigs are refused."""
    credentials = parse_kubeconfig(kubeconfig, context)
    return connect(name, credentials, connect_timeout=connect_timeout, read_timeout=read_timeout)


def in_cluster(
    name: str = "in-cluster",
    *,
    service_account_dir: Path = SERVICE_ACCOUNT_DIR,
    connect_timeout: float = 5,
    read_timeout: float = 30,
) -> KubeClient:
    """A client for the cluster devplat runs in, as its pod's service account.

    The token is read on every call: the kubelet rotates projected tokens, and new credentials get a new client.
    The address is not put through `check_server_url`: the kubelet sets it (usually a private service IP), not an
    admin, so it is not an SSRF vector.
    """
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise KubeError(
            "Not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set."
        )
    try:
        token = (service_account_dir / "token").read_text().strip()
        ca_data = (service_account_dir / "ca.crt").read_text()
    except OSError as exc:
        raise KubeError(f"Cannot read the pod's service account in {service_account_dir}: {exc.strerror}.") from None
    server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
    credentials = ClusterCredentials(server=server, token=token, ca_data=ca_data)
    return KubeClient(
        name,
        pool.api_client(name, credentials),
        server=server,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )


class KubeClient:
    """Reads and writes one cluster. Cheap to create: the connection pool lives in the shared `ApiClient`."""

    def __init__(
        self, name: str, api_client: ApiClient, *, server: str, connect_timeout: float, read_timeout: float
    ) -> None:
        self.name = name
        self.api_client = api_client
        self.server = server
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout

    def __repr__(self) -> str:
        return f"KubeClient(name={self.name!r}, server={self.server!r})"

    # Reads.

    def probe(self) -> Probe:
        """The Kubernetes version, and Crossplane's: installed when its API group is served."""
        version = self._get_json("/version")
        kubernetes_version = version.get("gitVersion") or f"v{version.get('major', '')}.{version.get('minor', '')}"
        return Probe(kubernetes_version=str(kubernetes_version), crossplane_version=self._crossplane_version())

    def list_page(self, rt: ResourceType, **options: Any) -> dict[str, Any]:
        """One page of a list, the List JSON as the server sent it, decoded (`options` as `list_body`'s)."""
        return self._decode(self.list_body(rt, **options))

    def list_body(
        self,
        rt: ResourceType,
        *,
        namespace: str | None = None,
        limit: int = 500,
        continue_token: str | None = None,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> bytes:
        """One page of a list as the server's bytes. With a continue token the server pins the snapshot, so
        `resource_version` applies to the first page only (the server refuses both together)."""
        query: list[tuple[str, str]] = []
        if limit:
            query.append(("limit", str(limit)))
        if continue_token:
            query.append(("continue", continue_token))
        elif resource_version is not None:
            query.append(("resourceVersion", resource_version))
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        return self._read(self._request("GET", resource_path(rt, namespace), query))

    def iter_list(self, rt: ResourceType, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every page of a list, following `metadata.continue` until the server gives none.

        The next page is requested as soon as the current one's bytes have arrived, not after they are decoded:
        the continue token is read from the head of the body (`list_head`), so the server prepares page N+1 while
        page N is decoded here. A body whose head does not give it is decoded whole before the next request.
        """
        bodies = self._list_bodies(rt, kwargs.pop("continue_token", None), kwargs)
        for body in read_ahead(bodies, depth=1, name=f"devplat-list-{rt.plural}"):
            yield body if isinstance(body, dict) else self._decode(body)

    def _list_bodies(
        self, rt: ResourceType, token: str | None, kwargs: dict[str, Any]
    ) -> Iterator[bytes | dict[str, Any]]:
        """The list's pages as undecoded bodies (or decoded, where the token had to be found that way)."""
        while True:
            data = self.list_body(rt, continue_token=token, **kwargs)
            head = list_head(data)
            if head is None:
                page = self._decode(data)
                yield page
                head = page
            else:
                yield data
            token = (head.get("metadata") or {}).get("continue")
            if not token:
                return

    def watch(
        self,
        rt: ResourceType,
        *,
        resource_version: str,
        timeout_seconds: int,
        allow_bookmarks: bool = True,
        label_selector: str | None = None,
        send_initial_events: bool = False,
        namespace: str | None = None,
        canceller: WatchCanceller | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Watch events (`{"type", "object"}`, ADDED/MODIFIED/DELETED/BOOKMARK) as decoded dicts, until the server
        ends the stream (at `timeout_seconds`).

        An in-stream ERROR event raises its error: `KubeExpired` for 410, when `resource_version` is too old. A
        stream that stays silent for `timeout_seconds` plus a grace raises `KubeTimeout`; one cut before the server
        ended it raises `KubeUnreachable`. With `send_initial_events` the server first sends the current state as
        ADDED events, then a BOOKMARK annotated `k8s.io/initial-events-end`. `canceller` lets another thread end
        the stream at once (the read in progress raises `KubeUnreachable`).
        """
        query = [("watch", "true"), ("timeoutSeconds", str(timeout_seconds))]
        if allow_bookmarks or send_initial_events:  # the server refuses initial events without bookmarks
            query.append(("allowWatchBookmarks", "true"))
        if send_initial_events:
            query += [("sendInitialEvents", "true"), ("resourceVersionMatch", "NotOlderThan")]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        if label_selector:
            query.append(("labelSelector", label_selector))
        read_timeout = timeout_seconds + WATCH_READ_GRACE
        response = self._request("GET", resource_path(rt, namespace), query, read_timeout=read_timeout)
        if canceller is not None:
            canceller.attach(response)
        try:
            for line in self._lines(response, read_timeout):
                event = self._decode(line)
                if event.get("type") == "ERROR":
                    raise error_from_status(event.get("object") or {})
                yield event
        finally:
            _finish(response)

    def get(self, rt: ResourceType, name: str, namespace: str | None = None) -> dict[str, Any]:
        return self._get_json(resource_path(rt, namespace, name))

    def discover(self, extra: Collection[str] = ()) -> list[ResourceType]:
        """The resource types devplat syncs from this cluster (`discovery.select_resource_types`), plus the `extra`
        types (keys like `pods` or `widgets.example.com`) when the cluster serves them.

        Group versions that are not served right now (404, or 503 from an aggregated API such as metrics.k8s.io
        without its backend) are skipped with a warning, as client-go's discovery does; other errors raise.
        """
        paths = [f"/api/{version}" for version in self._get_json("/api").get("versions") or ()]
        for group in self._get_json("/apis").get("groups") or ():
            preferred = (group.get("preferredVersion") or {}).get("groupVersion")
            versions = [v.get("groupVersion") for v in group.get("versions") or () if v.get("groupVersion")]
            paths += [f"/apis/{gv}" for gv in sorted(versions, key=lambda gv: gv != preferred)]
        with ThreadPoolExecutor(max_workers=DISCOVERY_CONCURRENCY, thread_name_prefix="kube-discovery") as executor:
            documents = list(executor.map(self._resource_list, paths))
        return select_resource_types((document for document in documents if document is not None), extra)

    # Writes.

    def apply(
        self, rt: ResourceType, obj: dict[str, Any], *, field_manager: str, force: bool = False, dry_run: bool = False
    ) -> tuple[dict[str, Any], bool]:
        """Server-side apply `obj` as `field_manager`: (the object as stored, True if this apply created it).

        `apiVersion` and `kind` default to `rt`'s. Without `force`, fields owned by another manager raise
        `KubeConflict` naming that manager; with it, this manager takes them over.
        """
        metadata = obj.get("metadata") or {}
        name, namespace = metadata.get("name"), metadata.get("namespace")
        if not name:
            raise ValueError("server-side apply needs metadata.name")
        query = [("fieldManager", field_manager)]
        if force:
            query.append(("force", "true"))
        if dry_run:
            query.append(("dryRun", "All"))
        body = orjson.dumps({"apiVersion": rt.api_version, "kind": rt.kind, **obj})
        response = self._request(
            "PATCH", resource_path(rt, namespace, name), query, body=body, content_type=APPLY_PATCH
        )
        return self._read_json(response), response.status == 201

    def delete(self, rt: ResourceType, name: str, namespace: str | None = None) -> None:
        """Delete (in the background for dependents); an object with finalizers goes once they are removed."""
        self._read_json(self._request("DELETE", resource_path(rt, namespace, name)))

    # Plumbing.

    def _crossplane_version(self) -> str | None:
        try:
            self._get_json(f"/apis/{CROSSPLANE_GROUP}")
        except KubeNotFound:
            return None
        try:
            deployment = self.get(DEPLOYMENTS, CROSSPLANE_DEPLOYMENT, CROSSPLANE_NAMESPACE)
        except (KubeNotFound, KubeUnauthorized):
            return "unknown"
        return crossplane_version(deployment) or "unknown"

    def _resource_list(self, path: str) -> dict[str, Any] | None:
        try:
            return self._get_json(path)
        except (KubeNotFound, KubeServerError) as exc:
            if isinstance(exc, KubeServerError) and exc.status != 503:
                raise
            logger.warning("Cluster %s: discovery skips %s, which is not served now: %s", self.name, path, exc)
            return None

    def _get_json(self, path: str, query: Query = ()) -> dict[str, Any]:
        return self._read_json(self._request("GET", path, query))

    def _request(
        self,
        method: str,
        path: str,
        query: Query = (),
        *,
        body: bytes | None = None,
        content_type: str | None = None,
        read_timeout: float | None = None,
    ) -> HTTPResponse:
        """Send one request and return the unread response of a 2xx; any other answer raises its `KubeError`."""
        timeout = self.read_timeout if read_timeout is None else read_timeout
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        method, url, headers, payload, _ = self.api_client.param_serialize(
            method, path, query_params=list(query), header_params=headers, body=body, auth_settings=["BearerToken"]
        )
        with self._transport_errors(timeout):
            response: HTTPResponse = self.api_client.call_api(
                method, url, headers, payload, _request_timeout=(self.connect_timeout, timeout)
            ).response
            if response.status < 300:
                return response
            data = response.read()
        raise error_from_response(response.status, data, response.headers)

    def _read_json(self, response: HTTPResponse) -> dict[str, Any]:
        return self._decode(self._read(response))

    def _read(self, response: HTTPResponse) -> bytes:
        with self._transport_errors(self.read_timeout):
            return response.read()

    def _decode(self, data: bytes) -> dict[str, Any]:
        try:
            decoded = orjson.loads(data)
        except orjson.JSONDecodeError:
            decoded = None
        if not isinstance(decoded, dict):
            raise KubeError(f"The API server at {self.server} answered with something other than a JSON object.")
        return decoded

    def _lines(self, response: HTTPResponse, read_timeout: float) -> Iterator[bytes]:
        """The stream's newline-delimited frames, each yielded as soon as its newline arrives."""
        pending: list[bytes] = []
        while True:
            with self._transport_errors(read_timeout):
                chunk = response.read1(READ_SIZE)
            if not chunk:
                break
            *complete, rest = chunk.split(b"\n")
            if complete:
                complete[0] = b"".join([*pending, complete[0]])
                pending = []
                yield from (line for line in complete if line.strip())
            pending.append(rest)
        tail = b"".join(pending)
        if tail.strip():
            yield tail

    @contextlib.contextmanager
    def _transport_errors(self, read_timeout: float) -> Iterator[None]:
        try:
            yield
        except (HTTPError, ApiException, OSError) as exc:
            raise error_from_transport(exc, server=self.server, read_timeout=read_timeout) from exc


class WatchCanceller:
    """Ends a watch from another thread: shutting the socket down makes a read blocked in the watching thread
    return at once, instead of at the stream's timeout. One canceller serves one watch call at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._response: HTTPResponse | None = None
        self.cancelled = False

    def attach(self, response: HTTPResponse) -> None:
        with self._lock:
            self._response = response
            cancelled = self.cancelled
        if cancelled:
            _shutdown(response)

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            response = self._response
        if response is not None:
            _shutdown(response)


def _shutdown(response: HTTPResponse) -> None:
    connection = getattr(response, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


# How far into a list body its metadata may end: kind, apiVersion and ListMeta are a few hundred bytes.
LIST_HEAD_LIMIT = 4096


def list_head(data: bytes) -> dict[str, Any] | None:
    """A List body's kind, apiVersion and metadata, read from its head without decoding its items; None when the
    head does not give them. The API server writes a List's fields in Go struct order, metadata before items; a
    body in another order, or whose head is not the JSON prefix expected (`"items":` inside a string), is None and
    the caller decodes it whole."""
    end = data.find(b'"items":', 0, LIST_HEAD_LIMIT)
    if end < 0:
        return None
    try:
        head = orjson.loads(data[:end].rstrip().rstrip(b",") + b"}")
    except orjson.JSONDecodeError:
        return None
    return head if isinstance(head, dict) and isinstance(head.get("metadata"), dict) else None


def resource_path(rt: ResourceType, namespace: str | None = None, name: str | None = None) -> str:
    """The URL path of a collection (no name) or an object. `namespace` is ignored for cluster-scoped types."""
    path = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    if rt.namespaced and namespace:
        path += f"/namespaces/{quote(namespace, safe='')}"
    elif rt.namespaced and name is not None:
        raise ValueError(f"{rt.kind} is namespaced: give the namespace of {name!r}")
    path += f"/{rt.plural}"
    if name is not None:
        if not name:
            raise ValueError(f"a {rt.kind} needs a name")
        path += f"/{quote(name, safe='')}"
    return path


def crossplane_version(deployment: dict[str, Any]) -> str | None:
    """Crossplane's version from its Deployment: the image tag of its `crossplane` container (what runs), else the
    `app.kubernetes.io/version` label (what the chart says); None when neither tells."""
    template = (deployment.get("spec") or {}).get("template") or {}
    containers = (template.get("spec") or {}).get("containers") or []
    container = next((c for c in containers if c.get("name") == "crossplane"), containers[0] if containers else {})
    tag = image_tag(str(container.get("image") or ""))
    if tag:
        return tag
    for metadata in (deployment.get("metadata") or {}, template.get("metadata") or {}):
        label = (metadata.get("labels") or {}).get(VERSION_LABEL)
        if label:
            return str(label)
    return None


def image_tag(image: str) -> str | None:
    """`v1.17.0` from `xpkg.upbound.io/crossplane/crossplane:v1.17.0@sha256:...`; None for a digest-only image."""
    reference = image.split("@", 1)[0]
    repository, _, tag = reference.rpartition(":")
    if not repository or not tag or "/" in tag:
        return None
    return tag


def _finish(response: HTTPResponse) -> None:
    """Give the connection back to the pool, or close it when the body was not read to the end (an abandoned
    watch): a half-read connection must never serve the next request."""
    if not response.isclosed():
        response.close()
    response.release_conn()
