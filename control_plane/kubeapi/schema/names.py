"""Kubernetes name formats (DNS-1035 label, RFC 1123 subdomain) with apimachinery's error wording.

Both an embedded resource's kind (on admission) and a CRD's names (on CRD checks) are held to them.
"""

from __future__ import annotations

import re

_DNS1035_FORMAT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035 = re.compile(_DNS1035_FORMAT + r"\Z")
_DNS1035_MESSAGE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
    "start with an alphabetic character, and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_FORMAT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_DNS1123_SUBDOMAIN = re.compile(_DNS1123_SUBDOMAIN_FORMAT + r"\Z")
_DNS1123_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)


def _regex_error(message: str, pattern: str, *examples: str) -> str:
    """apimachinery's RegexError wording, double space before 'or' included."""
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{pattern}')"


def _dns1035_label(value: str) -> list[str]:
    errors = ["must be no more than 63 characters"] if len(value) > 63 else []
    if not _DNS1035.match(value):
        errors.append(_regex_error(_DNS1035_MESSAGE, _DNS1035_FORMAT, "my-name", "abc-123"))
    return errors


def _dns1123_subdomain(value: str) -> list[str]:
    errors = ["must be no more than 253 characters"] if len(value) > 253 else []
    if not _DNS1123_SUBDOMAIN.match(value):
        errors.append(_regex_error(_DNS1123_SUBDOMAIN_MESSAGE, _DNS1123_SUBDOMAIN_FORMAT, "example.com"))
    return errors
