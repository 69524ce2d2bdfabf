"""Keep a sandbox's objects in a file across restarts (`devplat sandbox serve --state FILE`).

Saved atomically (write a temporary file, then rename) whenever the resourceVersion moved, and once more on exit.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import orjson

from control_plane.sandbox.apiserver import ApiServer

logger = logging.getLogger(__name__)


class StateFile:
    def __init__(self, api: ApiServer, path: Path, *, interval: float = 2.0) -> None:
        self.api = api
        self.path = path
        self.interval = interval
        self._saved_rv = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def load(self) -> int | None:
        """Restore the file into the server; None when there is no file yet."""
        if not self.path.exists():
            return None
        try:
            state = orjson.loads(self.path.read_bytes())
        except orjson.JSONDecodeError as error:
            raise ValueError(
                f"{self.path} is not a sandbox state file ({error}); move it away to start from the seed"
            ) from None
        count = self.api.restore(state)
        self._saved_rv = self.api.store.rv
        return count

    def save(self) -> None:
        if self.api.store.rv == self._saved_rv:
            return
        state = self.api.dump()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(self.path.suffix + ".tmp")
        temporary.write_bytes(orjson.dumps(state))
        os.replace(temporary, self.path)
        self._saved_rv = state["resourceVersion"]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sandbox-state", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.save()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.save()
            except OSError:
                logger.exception("sandbox: could not save the state to %s", self.path)
