"""Run the sandbox in a thread (tests, `make run`) or in the foreground (`devplat sandbox serve`).

`Sandbox` owns one `ApiServer` (the cluster's state) and the HTTP server in front of it. The state outlives the
HTTP server: `refuse_connections()` closes the listening socket and `accept_connections()` reopens the same port,
so tests can show what a client does while a cluster is unreachable.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import yaml

from control_plane.sandbox.apiserver import ApiServer
from control_plane.sandbox.httpserver import SandboxHTTPServer


class Sandbox:
    """A Kubernetes API server emulator on loopback. Use as a context manager, or `start()`, `wait()` and `stop()`."""

    def __init__(
        self,
        api: ApiServer | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bookmark_interval: float = 1.0,
    ) -> None:
        self.api = api or ApiServer()
        self.host = host
        self.port = port
        self.bookmark_interval = bookmark_interval
        self._http: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Sandbox:
        self._http = SandboxHTTPServer((self.host, self.port), self.api, bookmark_interval=self.bookmark_interval)
        self.port = self._http.server_address[1]
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.1}, name=f"sandbox:{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut every open connection; the state in `api` stays."""
        if self._http is None:
            return
        self.api.faults.drop_watches()
        self._http.shutdown()
        self._http.cut_connections()
        self._http.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._http = None
        self._thread = None

    def refuse_connections(self) -> None:
        """The port stops accepting: clients get 'connection refused' until `accept_connections()`."""
        self.stop()

    def accept_connections(self) -> None:
        self.start()

    def wait(self) -> None:
        """Block while serving (foreground mode); Ctrl-C raises KeyboardInterrupt here."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def kubeconfig(self, *, name: str = "sandbox") -> dict[str, Any]:
        """A kubeconfig for this server. The sandbox has no authentication, so the user entry is a placeholder token."""
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": self.url}}],
            "users": [{"name": name, "user": {"token": "sandbox"}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
        }

    def write_kubeconfig(self, path: Path, *, name: str = "sandbox") -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.kubeconfig(name=name), sort_keys=False))
        path.chmod(0o600)
        return path
