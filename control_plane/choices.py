from django.db import models


class ClusterAuthMethodChoices(models.TextChoices):
    """How devplat authenticates to a cluster's API server; what the stored, encrypted credentials hold."""

    TOKEN = "token", "Bearer token"
    CLIENT_CERTIFICATE = "client-certificate", "Client certificate"
    TOKEN_AND_CLIENT_CERTIFICATE = "token+client-certificate", "Bearer token and client certificate"
