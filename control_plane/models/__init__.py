"""The control plane's models: the cluster registry, the synced inventory and the sync ledger."""

from control_plane.models.clusters import FERNET_TOKEN_REGEX, Cluster, validate_labels
from control_plane.models.inventory import Resource, ResourceChange, ResourceEdge, ResourceType
from control_plane.models.sync import SyncRun

__all__ = [
    "FERNET_TOKEN_REGEX",
    "Cluster",
    "Resource",
    "ResourceChange",
    "ResourceEdge",
    "ResourceType",
    "SyncRun",
    "validate_labels",
]
