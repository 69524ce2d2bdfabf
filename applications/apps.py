from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    """Layer 4: the service catalog, environments, deployments and rollouts (to come)."""

    name = "applications"
