"""How devplat reaches one cluster: the API server and inline credentials, never file paths or exec plugins."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClusterCredentials:
    """Everything a client needs for one cluster. PEM and token strings are secrets: never log or display them."""

    server: str
    token: str | None = None
    ca_data: str | None = None
    client_cert_data: str | None = None
    client_key_data: str | None = None

    def __repr__(self) -> str:  # secrets stay out of logs and tracebacks
        return f"ClusterCredentials(server={self.server!r}, token={'***' if self.token else None})"
