"""The control plane's models: the cluster registry, the synced inventory, the sync ledger and provisioning requests."""

from control_plane.models.clusters import FERNET_TOKEN_REGEX, Cluster, validate_labels
from control_plane.models.inventory import Resource, ResourceChange, ResourceEdge, ResourceType
from control_plane.models.provisioning import Capability, ProvisioningRequest
from control_plane.models.sync import SyncRun

__all__ = [
    "FERNET_TOKEN_REGEX",
    "Capability",
    "Cluster",
    "ProvisioningRequest",
    "Resource",
    "ResourceChange",
    "ResourceEdge",
    "ResourceType",
    "SyncRun",
    "validate_labels",
]
