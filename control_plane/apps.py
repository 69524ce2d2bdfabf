from django.apps import AppConfig


class ControlPlaneConfig(AppConfig):
    """Layer 3: clusters, the Kubernetes boundary, the sandbox, the sync operator and the inventory (to come)."""

    name = "control_plane"
    verbose_name = "control plane"

    def ready(self) -> None:
        from control_plane.cli import ClustersNoun
        from control_plane.sandbox.cli import SandboxNoun
        from devplat.core.cli import registry

        registry.register(ClustersNoun())
        registry.register(SandboxNoun())
