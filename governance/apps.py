from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    """Layer 1: the append-only audit log and admission policies (later compliance)."""

    name = "governance"

    def ready(self) -> None:
        from devplat.core.cli import registry
        from governance.cli import AuditNoun, PoliciesNoun

        registry.register(AuditNoun())
        registry.register(PoliciesNoun())
