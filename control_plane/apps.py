from django.apps import AppConfig


class ControlPlaneConfig(AppConfig):
    """Layer 3: clusters, the Kubernetes boundary, the sandbox, the sync operator and the inventory (to come)."""

    name = "control_plane"
    verbose_name = "control plane"
