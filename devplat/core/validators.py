"""Name rules every app shares, so a team, a namespace, a cluster, a policy and a requested instance are all named
the same way."""

from django.core.validators import RegexValidator

# A Kubernetes DNS label (RFC 1123): what names a namespace, and what devplat's own names follow.
DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"

dns_label = RegexValidator(
    rf"\A{DNS_LABEL}\Z",
    "Use a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63.",
)
