from django.db import models


class ClusterAuthMethodChoices(models.TextChoices):
    """How devplat authenticates to a cluster's API server; what the stored, encrypted credentials hold."""

    TOKEN = "token", "Bearer token"
    CLIENT_CERTIFICATE = "client-certificate", "Client certificate"
    TOKEN_AND_CLIENT_CERTIFICATE = "token+client-certificate", "Bearer token and client certificate"


class ResourceCategoryChoices(models.TextChoices):
    """devplat's grouping of synced types (see control_plane.kube.discovery)."""

    CORE = "core", "Kubernetes built-in"
    CROSSPLANE = "crossplane", "Crossplane platform"
    COMPOSITE = "composite", "Composite resource"
    CLAIM = "claim", "Claim"
    MANAGED = "managed", "Managed resource"
    ADDED = "added", "Added by an operator"


class ResourceTypeSourceChoices(models.TextChoices):
    DISCOVERED = "discovered", "Discovered"
    ADDED = "added", "Added by an operator"


class HealthChoices(models.TextChoices):
    """kstatus-like health: what a person asks first about anything running."""

    HEALTHY = "healthy", "Healthy"
    PROGRESSING = "progressing", "Progressing"
    DEGRADED = "degraded", "Degraded"
    UNKNOWN = "unknown", "Unknown"


class DeletedReasonChoices(models.TextChoices):
    DELETED = "deleted", "Deleted (watch event)"
    MISSED = "missed", "Missed while disconnected (absent from a relist)"
    TYPE_REMOVED = "type-removed", "Its type is no longer served or synced"


class ChangeTypeChoices(models.TextChoices):
    ADDED = "added", "Added"
    MODIFIED = "modified", "Modified"
    DELETED = "deleted", "Deleted"
    MISSED = "missed", "Missed while disconnected"


class EdgeRelationChoices(models.TextChoices):
    """How one resource refers to another. `from` always holds the reference."""

    OWNED_BY = "owned-by", "Owned by (ownerReferences)"
    COMPOSES = "composes", "Composes (resourceRefs)"
    CLAIMS = "claims", "Claims (claim -> composite)"
    CLAIMED_BY = "claimed-by", "Claimed by (composite -> claim)"
    USES_COMPOSITION = "uses-composition", "Uses composition"
    USES_PROVIDER_CONFIG = "uses-provider-config", "Uses provider config"
    USES_SECRET = "uses-secret", "Writes connection secret"


class SyncModeChoices(models.TextChoices):
    LIST = "list", "Initial list"
    WATCH = "watch", "Watch"
    RELIST = "relist", "Relist after 410"
    RESYNC = "resync", "Periodic full relist"


class EnvironmentChoices(models.TextChoices):
    """The stage a capability instance serves; compositions pick their EnvironmentConfig from it."""

    DEV = "dev", "Development"
    STAGING = "staging", "Staging"
    PROD = "prod", "Production"


class RequestStatusChoices(models.TextChoices):
    """How far devplat got with a provisioning request; the synced resource's health says how far Crossplane got."""

    WAITING = "waiting", "Waiting for dependencies"
    APPLIED = "applied", "Applied to the cluster"
    FAILED = "failed", "Failed"
    DELETED = "deleted", "Deleted"
