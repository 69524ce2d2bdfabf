"""HTTP/1.1 front of the sandbox: routing, content negotiation, chunked watch streams, keep-alive that stays correct.

Every request body is read in full before anything else (a keep-alive connection must never see the leftovers of
the previous request), responses carry Content-Length or are chunked, and sockets use TCP_NODELAY so small
responses are not held back by Nagle's algorithm against delayed ACKs.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import yaml

from control_plane.kubeapi.errors import ApiError, bad_request, method_not_allowed, unsupported_media_type
from control_plane.sandbox import discovery, protobuf, tables
from control_plane.sandbox.apiserver import APPLY, ApiServer, WriteOptions
from control_plane.sandbox.kinds import ResourceKind
from control_plane.sandbox.reads import DroppedStream, ReadParams, list_objects, watch_events
from control_plane.sandbox.selectors import object_predicate

logger = logging.getLogger(__name__)
NOT_FOUND = ApiError(404, "NotFound", "the server could not find the requested resource")
Query = dict[str, list[str]]
# Built-in kinds whose registry returns the deleted object; the others answer a Status (custom resources: the object).
RETURNS_DELETED_OBJECT = frozenset({"Pod"})


def _flag(query: Query, name: str) -> bool | None:
    values = query.get(name)
    if not values:
        return None
    return values[-1].lower() in ("true", "1", "")


def _one(query: Query, name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _int(query: Query, name: str) -> int | None:
    value = _one(query, name)
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise bad_request(f"invalid value for {name}: {value!r} is not an integer") from None


def _read_params(query: Query) -> ReadParams:
    limit = _int(query, "limit") or 0
    if limit < 0:
        raise bad_request("limit must not be negative")
    return ReadParams(
        label_selector=_one(query, "labelSelector"),
        field_selector=_one(query, "fieldSelector"),
        limit=limit,
        continue_token=_one(query, "continue") or None,
        resource_version=_one(query, "resourceVersion"),
        resource_version_match=_one(query, "resourceVersionMatch") or None,
        allow_bookmarks=bool(_flag(query, "allowWatchBookmarks")),
        send_initial_events=_flag(query, "sendInitialEvents"),
        timeout_seconds=_int(query, "timeoutSeconds"),
    )


def _write_options(query: Query, user_agent: str, *, is_apply: bool = False) -> WriteOptions:
    dry_run = query.get("dryRun", [])
    for value in dry_run:
        if value != "All":
            raise bad_request(f'Invalid dry run value "{value}": the only supported value is "All"')
    validation = _one(query, "fieldValidation") or "Warn"
    if validation not in ("Strict", "Warn", "Ignore"):
        raise bad_request(f'invalid fieldValidation "{validation}": use Strict, Warn or Ignore')
    force = bool(_flag(query, "force"))
    if force and not is_apply:
        raise bad_request("force flag is only valid for apply requests (Content-Type: application/apply-patch+yaml)")
    manager = _one(query, "fieldManager") or ""
    if len(manager) > 128:
        raise bad_request("fieldManager must be at most 128 characters")
    if not manager and not is_apply:
        manager = (user_agent.split("/")[0] or "unknown")[:128]
    return WriteOptions(dry_run=bool(dry_run), field_manager=manager, field_validation=validation, force=force)


class Route:
    """A resource URL: /api/v1/..., /apis/{group}/{version}/..., optionally under /namespaces/{ns}/ or /watch/."""

    def __init__(self, group: str, version: str, rest: list[str]) -> None:
        self.group, self.version = group, version
        self.watch = bool(rest) and rest[0] == "watch"
        if self.watch:
            rest = rest[1:]
        self.namespace: str | None = None
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
            self.namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise NOT_FOUND
        self.plural = rest[0]
        self.name = rest[1] if len(rest) > 1 else None
        self.subresource = rest[2] if len(rest) > 2 else ""


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], api: ApiServer, *, bookmark_interval: float) -> None:
        super().__init__(address, SandboxHandler)
        self.api = api
        self.bookmark_interval = bookmark_interval
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def cut_connections(self) -> None:
        """Close every open client connection (keep-alive and watches), as a server going away would."""
        with self.connections_lock:
            for connection in list(self.connections):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SandboxHTTPServer
    server_version = "devplat-sandbox"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    # Plumbing.

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _send(self, code: int, body: Any, headers: dict[str, str] | None = None, warnings: Sequence[str] = ()) -> None:
        data = orjson.dumps(body)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        for warning in warnings:
            self.send_header("Warning", f'299 - "{warning}"'.replace('\\"', "'"))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _serve(self, method: str) -> None:
        body = self._read_body()
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        api = self.server.api
        try:
            if url.path not in ("/healthz", "/readyz", "/livez"):
                api.faults.wait_latency()
                api.faults.record(method, url.path, query)
                failure = api.faults.take_failure(url.path)
                if failure is not None:
                    raise failure
            self._dispatch(method, url.path, query, body)
        except ApiError as error:
            status = error.status()
            if getattr(error, "list_meta", None):
                status["metadata"] = error.list_meta  # type: ignore[attr-defined]
            retry_after = (error.details or {}).get("retryAfterSeconds")
            self._send(error.code, status, {"Retry-After": str(retry_after)} if retry_after is not None else None)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            logger.exception("sandbox: %s %s failed", method, self.path)
            self._send(500, ApiError(500, "InternalError", "Internal error occurred: see the sandbox log").status())

    def _dispatch(self, method: str, path: str, query: Query, body: bytes) -> None:
        segments = [s for s in path.split("/") if s]
        if method == "GET" and self._discovery(segments):
            return
        if len(segments) >= 2 and segments[0] == "api":
            route = Route("", segments[1], segments[2:])
        elif len(segments) >= 3 and segments[0] == "apis":
            route = Route(segments[1], segments[2], segments[3:])
        else:
            raise NOT_FOUND
        kind = self.server.api.kind(route.group, route.version, route.plural)
        if route.namespace and not kind.namespaced:
            raise NOT_FOUND
        served = {"status": kind.status_subresource, "scale": kind.scale_subresource}
        if route.subresource and not served.get(route.subresource):
            raise NOT_FOUND
        if route.name is None:
            self._collection(method, kind, route, query, body)
        else:
            self._item(method, kind, route, query, body)

    def _discovery(self, segments: list[str]) -> bool:
        """Answer discovery, OpenAPI and health documents; False when the path is a resource path."""
        catalog = self.server.api.catalog
        path = "/".join(segments)
        document: Any = None
        if path in ("healthz", "readyz", "livez"):
            data = b"ok"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return True
        if path == "version":
            document = discovery.version()
        elif path == "api":
            host, port = self.server.server_address[:2]
            document = discovery.api_versions(f"{host!s}:{port}")
        elif path == "apis":
            document = discovery.api_group_list(catalog)
        elif path == "openapi/v2":
            document = discovery.openapi_v2(catalog)
        elif path == "openapi/v3":
            document = discovery.openapi_v3_index(catalog)
        elif segments[:2] == ["openapi", "v3"]:
            rest = segments[2:]
            if rest[:1] == ["api"] and len(rest) == 2:
                document = discovery.openapi_v3_document(catalog, "", rest[1])
            elif rest[:1] == ["apis"] and len(rest) == 3:
                document = discovery.openapi_v3_document(catalog, rest[1], rest[2])
            if document is None:
                raise NOT_FOUND
        elif len(segments) == 2 and segments[0] == "api":
            document = discovery.resource_list(catalog, "", segments[1])
            if document is None:
                raise NOT_FOUND
        elif len(segments) == 2 and segments[0] == "apis":
            document = discovery.api_group(catalog, segments[1])
            if document is None:
                raise NOT_FOUND
        elif len(segments) == 3 and segments[0] == "apis":
            document = discovery.resource_list(catalog, segments[1], segments[2])
            if document is None:
                raise NOT_FOUND
        else:
            return False
        self._send(200, document)
        return True

    def _parse_body(self, body: bytes, *, allow_yaml: bool = False) -> Any:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if content_type == protobuf.CONTENT_TYPE:
            return protobuf.decode(body)
        if content_type == "application/cbor":
            raise unsupported_media_type(
                "the body of the request was in an unknown format - accepted media types include: application/json, "
                "application/yaml"
            )
        if not body:
            raise bad_request("the request body is empty: send the object as JSON")
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as error:
            json_error = error
        if allow_yaml or content_type in ("application/yaml", APPLY):
            try:
                return yaml.load(body, Loader=yaml.CSafeLoader)
            except yaml.YAMLError as error:
                raise bad_request(f"error decoding YAML: {error}") from None
        raise bad_request(f"couldn't get version/kind; json parse error: {json_error}")

    def _collection(self, method: str, kind: ResourceKind, route: Route, query: Query, body: bytes) -> None:
        api = self.server.api
        if method == "GET":
            params = _read_params(query)
            if route.watch or _flag(query, "watch"):
                self._stream(kind, route.namespace, params)
                return
            listed = list_objects(api, kind, route.namespace, params)
            version = tables.table_version(self.headers.get("Accept") or "")
            if version:
                items = [
                    api.present(kind, {"apiVersion": kind.api_version, "kind": kind.kind, **o}) for o in listed["items"]
                ]
                include = _one(query, "includeObject") or "Metadata"
                listed = tables.table(kind, items, listed["metadata"], include, version)
            self._send(200, listed)
        elif method == "POST":
            opts = _write_options(query, self.headers.get("User-Agent") or "")
            result = api.create(kind, route.namespace, self._parse_body(body, allow_yaml=True), opts)
            self._send(201, result.object, warnings=result.warnings)
        elif method == "DELETE":
            opts = _write_options(query, self.headers.get("User-Agent") or "")
            params = _read_params(query)
            predicate = object_predicate(params.label_selector, params.field_selector)
            deleted = api.delete_collection(kind, route.namespace, predicate, opts)
            self._send(
                200,
                {
                    "kind": kind.list_kind,
                    "apiVersion": kind.api_version,
                    "metadata": {"resourceVersion": str(api.store.rv)},
                    "items": deleted,
                },
            )
        else:
            raise method_not_allowed()

    def _item(self, method: str, kind: ResourceKind, route: Route, query: Query, body: bytes) -> None:
        api = self.server.api
        name = route.name or ""
        user_agent = self.headers.get("User-Agent") or ""
        if route.subresource == "scale":
            self._scale(method, kind, route, query, body)
            return
        if method == "GET":
            if route.watch or _flag(query, "watch"):
                params = _read_params({**query, "fieldSelector": [f"metadata.name={name}"]})
                self._stream(kind, route.namespace, params)
                return
            obj = api.get(kind, route.namespace, name)
            version = tables.table_version(self.headers.get("Accept") or "")
            if version:
                obj = tables.table(
                    kind,
                    [obj],
                    {"resourceVersion": obj["metadata"]["resourceVersion"]},
                    _one(query, "includeObject") or "Metadata",
                    version,
                )
            self._send(200, obj)
        elif method == "PUT":
            opts = _write_options(query, user_agent)
            result = api.update(kind, route.namespace, name, self._parse_body(body), opts, route.subresource)
            self._send(200, result.object, warnings=result.warnings)
        elif method == "PATCH":
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            opts = _write_options(query, user_agent, is_apply=content_type == APPLY)
            patch = self._parse_body(body, allow_yaml=content_type == APPLY)
            result = api.patch(kind, route.namespace, name, patch, content_type, opts, route.subresource)
            self._send(201 if result.created else 200, result.object, warnings=result.warnings)
        elif method == "DELETE":
            self._delete(kind, route, query, body)
        else:
            raise method_not_allowed()

    def _scale(self, method: str, kind: ResourceKind, route: Route, query: Query, body: bytes) -> None:
        api, name = self.server.api, route.name or ""
        if method == "GET":
            self._send(200, api.scale(kind, route.namespace, name))
            return
        if method not in ("PUT", "PATCH"):
            raise method_not_allowed()
        opts = _write_options(query, self.headers.get("User-Agent") or "")
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip() if method == "PATCH" else None
        self._send(200, api.rescale(kind, route.namespace, name, self._parse_body(body), content_type, opts))

    def _delete(self, kind: ResourceKind, route: Route, query: Query, body: bytes) -> None:
        api = self.server.api
        options = self._parse_body(body) if body.strip() else {}
        if not isinstance(options, dict):
            raise bad_request("the body of a DELETE must be DeleteOptions")
        merged_query = dict(query)
        if options.get("dryRun"):
            merged_query["dryRun"] = list(options["dryRun"])
        opts = _write_options(merged_query, self.headers.get("User-Agent") or "")
        policy = options.get("propagationPolicy") or _one(query, "propagationPolicy") or "Background"
        if policy not in ("Orphan", "Background", "Foreground"):
            raise bad_request(f'invalid propagationPolicy "{policy}": use Orphan, Background or Foreground')
        preconditions = options.get("preconditions") or {}
        obj = api.delete(kind, route.namespace, route.name or "", opts, preconditions=preconditions, propagation=policy)
        pending = api.store.get(kind.storage, (route.namespace or "", route.name or "")) is not None
        if pending or not kind.builtin or kind.kind in RETURNS_DELETED_OBJECT:
            self._send(200, obj)  # upstream answers 200 (not 202) for a deletion that waits on finalizers
            return
        details = {"name": route.name, "group": kind.group, "kind": kind.plural, "uid": obj["metadata"]["uid"]}
        self._send(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})

    def _stream(self, kind: ResourceKind, namespace: str | None, params: ReadParams) -> None:
        """A chunked stream of JSON watch events, one frame per event, ended by the zero-length chunk."""
        api = self.server.api
        events = watch_events(api, kind, namespace, params, bookmark_interval=self.server.bookmark_interval)
        table_version = tables.table_version(self.headers.get("Accept") or "")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.flush()
        try:
            batch = next(events, None)
            while batch is not None:
                frames = []
                for event in batch:
                    if table_version and event["type"] not in ("BOOKMARK", "ERROR"):
                        as_table = tables.table(kind, [event["object"]], {}, "Object", table_version)
                        event = {**event, "object": as_table}
                    data = orjson.dumps(event) + b"\n"
                    frames.append(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.write(b"".join(frames))
                self.wfile.flush()
                batch = next(events, None)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except DroppedStream:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        except OSError:
            self.close_connection = True
