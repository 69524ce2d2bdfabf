"""Which capability a request names, and what devplat needs to know to create one of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from control_plane import selectors
from devplat.core.errors import NotFound


@dataclass(frozen=True)
class Offer:
    """A capability as a request needs it: its composite's type, parameter schema and where it is offered."""

    name: str  # the XRD's name, plural.group
    group: str
    version: str
    kind: str
    plural: str
    scope: str
    schema: dict[str, Any]
    clusters: tuple[str, ...]
    connection_secret: str  # template with {name}; "" when instances have none

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    def secret_for(self, name: str) -> str:
        return self.connection_secret.replace("{name}", name) if self.connection_secret else ""


def _offer(capability: dict[str, Any]) -> Offer:
    return Offer(
        name=capability["name"],
        group=capability["group"],
        version=capability["version"],
        kind=capability["kind"],
        plural=capability["plural"],
        scope=capability["scope"],
        schema=capability["schema"],
        clusters=tuple(capability["clusters"]),
        connection_secret=capability["connection_secret"],
    )


def offer_for(user: Any, capability: str) -> Offer:
    """The capability named by its XRD name (`databases.platform.devplat.io`), its kind (`Database`, any case) or
    its plural (`databases`), as kubectl reads a type. Ambiguous short names must be given in full."""
    wanted = capability.strip().lower()
    catalog = selectors.capabilities_offered(user)
    exact = [c for c in catalog if c["name"] == wanted]
    found = exact or [c for c in catalog if wanted in (c["kind"].lower(), c["plural"].lower())]
    if not found:
        names = ", ".join(sorted(c["kind"] for c in catalog)) or "none yet: no cluster has an XRD"
        raise NotFound(f"No capability {capability!r}. The platform offers: {names} (`devplat capabilities list`).")
    if len(found) > 1:
        names = ", ".join(sorted(c["name"] for c in found))
        raise NotFound(f"{capability!r} names several capabilities ({names}); give the full name.")
    return _offer(found[0])
