"""The string formats kube-apiserver keeps for a schema, and the checks for those it enforces.

Formats upstream does not support are stripped (ignored), not errors; see the package docstring for which
supported formats are checked.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Callable

# apiextensions' supportedVersionedFormats (1.0 and 1.34 sets), '-' removed as go-openapi normalises names.
_SUPPORTED_STRING_FORMATS = frozenset(
    """
    bsonobjectid uri email hostname ipv4 ipv6 cidr mac uuid uuid3 uuid4 uuid5 isbn isbn10
    isbn13 creditcard ssn hexcolor rgbcolor byte password date duration datetime quantity k8sshortname k8slongname
    """.split()
)


def _effective_format(declared: str, types: tuple[str, ...]) -> str:
    """The format kube-apiserver keeps (StripUnsupportedFormatsPostProcess): others are ignored, not errors."""
    if not declared:
        return ""
    schema_type = types[0] if len(types) == 1 else ""
    if schema_type in ("", "string"):
        return declared if declared.replace("-", "") in _SUPPORTED_STRING_FORMATS else ""
    if schema_type == "integer":
        return declared if declared in ("int32", "int64") else ""
    if schema_type == "number":
        return declared if declared in ("float", "double") else ""
    return ""


_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")
_TIME_OF_DAY = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))\Z")
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})\Z")
_UUID_GROUPS = r"[0-9a-f]{8}-?[0-9a-f]{4}-?%s-?%s-?[0-9a-f]{12}\Z"


def _is_date(text: str) -> bool:
    match = _DATE.match(text)
    if match is None:
        return False
    try:
        datetime.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return False
    return True


def _is_date_time(text: str) -> bool:
    """strfmt.IsDateTime: an RFC 3339 full date, 'T', then hh:mm:ss[.frac] and 'Z' or an offset."""
    parts = text.lower().split("t")
    if len(text) < 4 or len(parts) < 2 or not _is_date(parts[0]):
        return False
    match = _TIME_OF_DAY.match(parts[1])
    return match is not None and match[1] <= "23" and match[2] <= "59" and match[3] <= "59"


def _is_ip(text: str, marker: str) -> bool:
    """govalidator's IsIPv4/IsIPv6: parses as an address and contains '.' (v4) or ':' (v6)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return marker in text


def _is_cidr(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return "/" in text


def _uuid_check(version: str, variant: str) -> Callable[[str], bool]:
    pattern = re.compile(_UUID_GROUPS % (version, variant), re.IGNORECASE)
    return lambda text: pattern.match(text) is not None


_FORMAT_CHECKS: dict[str, Callable[[str], bool]] = {
    "datetime": _is_date_time,
    "date": _is_date,
    "uuid": _uuid_check("[0-9a-f]{4}", "[0-9a-f]{4}"),
    "uuid3": _uuid_check("3[0-9a-f]{3}", "[0-9a-f]{4}"),
    "uuid4": _uuid_check("4[0-9a-f]{3}", "[89ab][0-9a-f]{3}"),
    "uuid5": _uuid_check("5[0-9a-f]{3}", "[89ab][0-9a-f]{3}"),
    "ipv4": lambda text: _is_ip(text, "."),
    "ipv6": lambda text: _is_ip(text, ":"),
    "cidr": _is_cidr,
    "byte": lambda text: _BASE64.match(text) is not None,
}
