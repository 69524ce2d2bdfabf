from django.apps import AppConfig


class ControlPlaneConfig(AppConfig):
    """Layer 3: clusters, the Kubernetes boundary, the sandbox, the sync operator and the inventory."""

    name = "control_plane"
    verbose_name = "control plane"

    def ready(self) -> None:
        from control_plane import signals  # noqa: F401 (connects the receivers)
        from control_plane.cli import ClustersNoun
        from control_plane.inventory_cli import ResourcesNoun
        from control_plane.sandbox.cli import SandboxNoun
        from control_plane.sync.cli import SyncNoun
        from devplat.core.cli import registry

        registry.register(ClustersNoun())
        registry.register(ResourcesNoun())
        registry.register(SandboxNoun())
        registry.register(SyncNoun())
