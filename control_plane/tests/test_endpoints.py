"""`check_server_url`: which API server URLs devplat may connect to (R15), decided without connecting."""

from __future__ import annotations

import socket

import pytest

from control_plane.kube.endpoints import EndpointRefused, check_server_url


def refused(url: str) -> str:
    with pytest.raises(EndpointRefused) as caught:
        check_server_url(url)
    return str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://8.8.8.8:6443",
        "https://8.8.8.8",
        "https://[2001:4860:4860::8888]:443",
        "https://8.8.8.8:6443/k8s/clusters/c-abc12",  # behind a proxy such as Rancher's
    ],
)
def test_public_https_urls_are_accepted(url):
    check_server_url(url)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://8.8.8.8", "must start with https://"),
        ("8.8.8.8:6443", "must start with https://"),
        ("", "1 to 2048 characters"),
        ("https://" + "a" * 2050, "1 to 2048 characters"),
        ("https://8.8.8.8:6443\r\nHost: evil", "whitespace or control characters"),
        ("https://:6443", "has no host"),
        ("https://8.8.8.8:99999", "port is not a number"),
        ("https://8.8.8.8:0", "port is not a number"),
        ("https://8.8.8.8/?redirect=http://169.254.169.254", "query string or fragment"),
        ("https://8.8.8.8/#x", "query string or fragment"),
        ("https://no-such-host.invalid", "does not resolve"),
        ("http://8.8.8.8", "must be reached over https"),
        ("https://0.0.0.0", "unspecified"),
        ("https://0.1.2.3", "unspecified"),
        ("https://[::]", "unspecified"),
        ("https://224.0.0.1", "multicast"),
        ("https://[ff02::1]", "multicast"),
        ("https://169.254.169.254", "cloud metadata service"),
        ("https://[fd00:ec2::254]", "cloud metadata service"),
        ("https://100.100.100.200", "cloud metadata service"),
        ("https://[::ffff:169.254.169.254]", "cloud metadata service"),
        ("https://[2002:a9fe:a9fe::1]", "6to4 address for 169.254.169.254"),
        ("https://169.254.1.1", "link-local"),
        ("https://[fe80::1]", "link-local"),
        ("https://240.0.0.1", "reserved"),
        ("https://10.0.0.5", "private range 10.0.0.0/8"),
        ("https://172.16.3.4", "private range 172.16.0.0/12"),
        ("https://192.168.1.10", "private range 192.168.0.0/16"),
        ("https://100.64.0.9", "private range 100.64.0.0/10"),
        ("https://[fd12:3456::1]", "private range fc00::/7"),
        ("https://192.0.2.10", "not publicly routable"),
    ],
)
def test_refused_urls_say_why(url, says):
    assert says in refused(url)


def test_credentials_in_the_url_are_refused_without_repeating_them():
    message = refused("https://admin:s3cret-pw@8.8.8.8:6443")
    assert "user name or password" in message
    assert "s3cret-pw" not in message
    assert "admin" not in message


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:6443",
        "https://127.9.9.9",
        "https://[::1]:6443",
        "https://localhost:6443",
        "https://2130706433",
        "https://0x7f.1",
        "https://[::ffff:127.0.0.1]",
    ],
)
def test_loopback_is_refused_unless_allowed(settings, url):
    settings.DEVPLAT_ALLOW_LOOPBACK_CLUSTERS = True
    check_server_url(url)

    settings.DEVPLAT_ALLOW_LOOPBACK_CLUSTERS = False
    assert "is a loopback address" in refused(url)
    assert "DEVPLAT_ALLOW_LOOPBACK_CLUSTERS" in refused(url)


def test_plain_http_is_allowed_only_for_loopback_and_only_when_loopback_is(settings):
    settings.DEVPLAT_ALLOW_LOOPBACK_CLUSTERS = True
    check_server_url("http://127.0.0.1:8001")
    check_server_url("http://localhost:8001")
    assert "must be reached over https" in refused("http://8.8.8.8:8001")

    settings.DEVPLAT_ALLOW_LOOPBACK_CLUSTERS = False
    assert "must be reached over https" in refused("http://127.0.0.1:8001")


def test_allow_listed_private_networks_pass_but_never_cover_metadata_or_link_local(settings):
    settings.DEVPLAT_CLUSTER_ALLOWED_NETWORKS = ["10.20.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "fd00::/8"]
    check_server_url("https://10.20.1.2:6443")
    check_server_url("https://100.64.7.7:6443")
    check_server_url("https://[fd00:1::5]:6443")
    assert "private range 10.0.0.0/8" in refused("https://10.21.0.1:6443")
    assert "cloud metadata service" in refused("https://100.100.100.200")
    assert "cloud metadata service" in refused("https://[fd00:ec2::254]")
    assert "link-local" in refused("https://169.254.3.3")


@pytest.fixture
def dns(monkeypatch):
    """Answers for names, as a DNS server would give them.

    This machine has no DNS server and /etc/hosts maps no name to a private address, so this one case replaces
    the system resolver (`socket.getaddrinfo`); every other test here resolves for real.
    """
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        return [
            (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
            for ip in answers[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def test_a_name_resolving_to_a_private_address_is_refused_and_the_message_names_both(dns):
    dns["kube.corp.example"] = ["10.8.0.4"]
    message = refused("https://kube.corp.example:6443")
    assert message.startswith("The server host 'kube.corp.example' resolves to 10.8.0.4, which is in the private")
    assert "DEVPLAT_CLUSTER_ALLOWED_NETWORKS" in message


def test_one_bad_address_among_good_ones_refuses_the_name(dns):
    dns["rebinding.example"] = ["8.8.8.8", "169.254.169.254"]
    assert "cloud metadata service" in refused("https://rebinding.example")

    dns["good.example"] = ["8.8.8.8", "2001:4860:4860::8888"]
    check_server_url("https://good.example")


def test_checking_never_connects(settings, listener, connections):
    settings.DEVPLAT_ALLOW_LOOPBACK_CLUSTERS = True
    check_server_url(f"https://127.0.0.1:{listener.port}")
    check_server_url(f"https://[::1]:{listener.port}")
    settings.DEVPLAT_ALLOW_LOOPBACK_CLUSTERS = False
    for url in (f"https://127.0.0.1:{listener.port}", "https://169.254.169.254", "https://10.1.1.1"):
        refused(url)

    assert listener.inbound() == 0
    assert connections.attempts == []


def test_the_listener_sees_a_connection_when_one_is_made(listener, connections):
    """The control for the zero-connection assertions here and in the CLI and API tests."""
    with socket.create_connection(("127.0.0.1", listener.port), timeout=2):
        pass
    with socket.create_connection(("::1", listener.port), timeout=2):
        pass

    assert listener.inbound() == 2
    assert len(connections.to(port=listener.port)) == 2
