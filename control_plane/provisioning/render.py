"""The composite devplat applies for a request: the capability's kind in the team's namespace, with its parameters.

The labels say whose it is and for which stage (compositions pick their EnvironmentConfig from
`devplat.io/environment`), and link the object back to its request; the sync derives the team from
`devplat.io/team` as from namespace ownership.
"""

from __future__ import annotations

from typing import Any

from control_plane.provisioning.catalog import Offer

TEAM_LABEL = "devplat.io/team"
ENVIRONMENT_LABEL = "devplat.io/environment"
REQUEST_LABEL = "devplat.io/request"


def render(
    offer: Offer,
    *,
    team: str,
    environment: str,
    namespace: str,
    name: str,
    spec: dict[str, Any],
    request_id: int | None = None,
) -> dict[str, Any]:
    labels = {TEAM_LABEL: team, ENVIRONMENT_LABEL: environment}
    if request_id is not None:
        labels[REQUEST_LABEL] = str(request_id)
    return {
        "apiVersion": offer.api_version,
        "kind": offer.kind,
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": spec,
    }
