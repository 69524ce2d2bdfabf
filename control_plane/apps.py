from django.apps import AppConfig


class ControlPlaneConfig(AppConfig):
    """Layer 3: clusters, the Kubernetes boundary, the sandbox, the sync operator, the inventory, and provisioning."""

    name = "control_plane"
    verbose_name = "control plane"

    def ready(self) -> None:
        from control_plane import signals  # noqa: F401 (connects the receivers)
        from control_plane.cli import ClustersNoun
        from control_plane.inventory_cli import ResourcesNoun
        from control_plane.platform_package.cli import CrossplaneNoun
        from control_plane.provisioning_cli import (
            CapabilitiesNoun,
            CreateNoun,
            DeleteNoun,
            DescribeNoun,
            GetNoun,
            PatchNoun,
            TraceNoun,
        )
        from control_plane.sandbox.cli import SandboxNoun
        from control_plane.sync.cli import SyncNoun
        from devplat.core.cli import registry

        registry.register(ClustersNoun())
        for noun in (CapabilitiesNoun, CreateNoun, DeleteNoun, DescribeNoun, GetNoun, PatchNoun, TraceNoun):
            registry.register(noun())
        registry.register(ResourcesNoun())
        registry.register(SandboxNoun())
        registry.register(SyncNoun())
        registry.register(CrossplaneNoun())
