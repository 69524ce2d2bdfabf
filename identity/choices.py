from django.db import models


class MembershipRoleChoices(models.TextChoices):
    """What a member may do in a team: viewers read, developers also request and change, admins manage the team."""

    VIEWER = "viewer", "Viewer"
    DEVELOPER = "developer", "Developer"
    ADMIN = "admin", "Admin"


class TokenScopeChoices(models.TextChoices):
    """What a token may do on its owner's behalf: `admin` implies `provision`, which implies `read`."""

    READ = "read", "Read"
    PROVISION = "provision", "Provision"
    ADMIN = "admin", "Admin"


# The roles that may request, change and delete a team's capability instances (viewers only read them).
PROVISIONING_ROLES = (MembershipRoleChoices.DEVELOPER, MembershipRoleChoices.ADMIN)

SCOPE_RANK = {TokenScopeChoices.READ: 0, TokenScopeChoices.PROVISION: 1, TokenScopeChoices.ADMIN: 2}
