"""The Cluster model's own rules: label syntax, and a column that admits only ciphertext."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from control_plane.models import Cluster, validate_labels
from control_plane.tests.factories import ClusterFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "labels",
    [
        {},
        {"env": "prod"},
        {"topology.kubernetes.io/region": "eu-west-1", "tier": ""},
        {"a" * 63: "b" * 63},
        {"devplat.io/team": "payments", "x_y.z-1": "A.b_c-9"},
    ],
)
def test_kubernetes_style_labels_are_valid(labels):
    validate_labels(labels)


@pytest.mark.parametrize(
    ("labels", "says"),
    [
        (["env=prod"], "mapping of keys to values"),
        ({"": "x"}, "is not a Kubernetes label key"),
        ({"-env": "x"}, "is not a Kubernetes label key"),
        ({"a" * 64: "x"}, "is not a Kubernetes label key"),
        ({"Upper.Case/env": "x"}, "is not a Kubernetes label key"),
        ({"env": "has space"}, "is not a Kubernetes label value"),
        ({"env": "v" * 64}, "is not a Kubernetes label value"),
        ({"env": 3}, "is not a Kubernetes label value"),
        ({"env": {"nested": "x"}}, "is not a Kubernetes label value"),
    ],
)
def test_malformed_labels_are_refused_with_the_rule(labels, says):
    with pytest.raises(ValidationError, match=says):
        validate_labels(labels)


def test_the_database_admits_only_fernet_ciphertext_in_the_credentials_column():
    cluster = ClusterFactory(name="prod")

    for plaintext in ('{"token": "abc"}', "token: abc", "", "gAAAAA with spaces"):
        with pytest.raises(IntegrityError, match="cluster_credentials_fernet_only"), transaction.atomic():
            Cluster.objects.filter(pk=cluster.pk).update(credentials_ciphertext=plaintext)


def test_a_cluster_decrypts_its_own_credentials_and_is_named_by_its_name():
    cluster = ClusterFactory(name="prod", server="https://127.0.0.1:6443", token="prod-token-1")

    assert str(cluster) == "prod"
    creds = Cluster.objects.get(pk=cluster.pk).credentials()
    assert (creds.server, creds.token) == ("https://127.0.0.1:6443", "prod-token-1")
