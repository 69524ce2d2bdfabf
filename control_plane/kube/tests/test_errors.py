"""Error responses and Status objects mapped to devplat's exceptions, as kube-apiserver and the proxies in front of
it answer them."""

from __future__ import annotations

import email.utils
import time

import orjson
import pytest

from control_plane.kube.client import crossplane_version, image_tag
from control_plane.kube.errors import (
    KubeConflict,
    KubeError,
    KubeExpired,
    KubeInvalid,
    KubeServerError,
    KubeTooManyRequests,
    KubeUnauthorized,
    error_from_response,
    error_from_status,
    parse_retry_after,
)


def status(code: int, reason: str, message: str, **details: object) -> bytes:
    body: dict[str, object] = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }
    if details:
        body["details"] = details
    return orjson.dumps(body)


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (400, "BadRequest", KubeInvalid),
        (401, "Unauthorized", KubeUnauthorized),
        (403, "Forbidden", KubeUnauthorized),
        (409, "AlreadyExists", KubeConflict),
        (410, "Expired", KubeExpired),
        (429, "TooManyRequests", KubeTooManyRequests),
        (503, "ServiceUnavailable", KubeServerError),
        (405, "MethodNotAllowed", KubeError),
    ],
)
def test_each_status_code_maps_to_its_exception_with_the_servers_message(
    code: int, reason: str, expected: type[KubeError]
) -> None:
    error = error_from_response(code, status(code, reason, f"the server says {code}"), {})

    assert type(error) is expected
    assert (error.message, error.status, error.reason) == (f"the server says {code}", code, reason)
    assert str(error) == f"the server says {code}"


def test_an_invalid_status_carries_its_causes() -> None:
    causes = [{"reason": "FieldValueRequired", "message": "Required value", "field": "spec.replicas"}]

    error = error_from_response(422, status(422, "Invalid", 'Deployment.apps "web" is invalid', causes=causes), {})

    assert isinstance(error, KubeInvalid)
    assert error.causes == causes


def test_an_expired_watch_error_event_object_raises_expired() -> None:
    error = error_from_status(orjson.loads(status(410, "Expired", "too old resource version: 5 (9)")))

    assert isinstance(error, KubeExpired)
    assert error.status == 410


def test_retry_after_comes_from_the_header_or_else_the_status_details() -> None:
    from_header = error_from_response(429, status(429, "TooManyRequests", "slow down"), {"Retry-After": "4"})
    from_details = error_from_response(429, status(429, "TooManyRequests", "slow down", retryAfterSeconds=2), {})

    assert from_header.retry_after == 4
    assert from_details.retry_after == 2


def test_retry_after_as_an_http_date_is_seconds_from_now() -> None:
    later = email.utils.formatdate(time.time() + 30, usegmt=True)

    assert 25 <= (parse_retry_after(later) or 0) <= 31
    assert parse_retry_after("soon") is None


def test_a_body_that_is_not_a_status_is_quoted_briefly() -> None:
    error = error_from_response(502, b"<html><body>Bad Gateway from the load balancer</body></html>" * 20, {})

    assert isinstance(error, KubeServerError)
    assert error.message.startswith("The API server answered 502 Bad Gateway: <html>")
    assert len(error.message) < 300


def test_a_redirect_is_an_error_naming_where_it_pointed() -> None:
    error = error_from_response(301, b"", {"Location": "https://elsewhere.example.com/"})

    assert type(error) is KubeError
    assert error.status == 301
    assert "https://elsewhere.example.com/" in error.message


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("xpkg.upbound.io/crossplane/crossplane:v1.17.0", "v1.17.0"),
        ("registry.local:5000/crossplane/crossplane:v2.0.2@sha256:abc", "v2.0.2"),
        ("registry.local:5000/crossplane/crossplane@sha256:abc", None),
        ("crossplane/crossplane", None),
    ],
)
def test_image_tags(image: str, tag: str | None) -> None:
    assert image_tag(image) == tag


def test_crossplane_version_falls_back_to_the_version_label_for_an_image_pinned_by_digest() -> None:
    deployment = {
        "metadata": {"labels": {"app.kubernetes.io/version": "1.18.2"}},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "crossplane-init", "image": "crossplane/crossplane:v0.0.1"},
                        {"name": "crossplane", "image": "crossplane/crossplane@sha256:abc"},
                    ]
                }
            }
        },
    }

    assert crossplane_version(deployment) == "1.18.2"
    assert crossplane_version({}) is None
