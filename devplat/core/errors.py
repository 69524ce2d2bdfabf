"""Errors every face understands: the API turns them into 403/404 problems, the CLI into messages and exit codes."""


class NotFound(Exception):
    """The object does not exist, or the caller may not see it (the two are not told apart)."""


class Forbidden(Exception):
    """The caller may see the object but not do this to it; the message says who may."""


class Conflict(Exception):
    """The request collides with the current state (a name taken, another field manager, dependents); the
    message names what it collides with and how to resolve it."""


class Unavailable(Exception):
    """Something the request needs could not be reached (a cluster's API server); retrying later may work."""
