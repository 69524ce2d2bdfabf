from django.apps import AppConfig


class IdentityConfig(AppConfig):
    """Layer 2: teams, memberships and roles, namespace ownership, API tokens."""

    name = "identity"

    def ready(self) -> None:
        from devplat.core.cli import registry
        from identity.cli import TeamsNoun, TokensNoun

        registry.register(TeamsNoun())
        registry.register(TokensNoun())
