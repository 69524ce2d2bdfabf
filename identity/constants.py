"""Identity constants: token format, and what a team role grants through django-guardian."""

TOKEN_PREFIX = "dp"  # noqa: S105 (a public prefix, not a secret)
TOKEN_KEY_ID_BYTES = 8  # 16 hex characters, the public half of a token
TOKEN_SECRET_BYTES = 32
TOKEN_LAST_USED_RESOLUTION_SECONDS = 60  # last_used_at is written at most this often per token
SERVICE_ACCOUNT_SUFFIX = "-bot"
GROUP_PREFIX = "team:"
# Every member sees the team through the team's group; team admins also get these per-user object permissions.
TEAM_ADMIN_PERMISSIONS = ("change_team",)
