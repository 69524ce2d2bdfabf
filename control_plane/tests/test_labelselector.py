"""Kubernetes label selectors over the stored labels: the semantics of k8s.io/apimachinery, in PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection

from control_plane.labelselector import label_selector_q
from control_plane.models import Resource
from control_plane.tests.factories import ClusterFactory
from control_plane.tests.inventory_factories import ResourceFactory

pytestmark = pytest.mark.django_db

LABELS = {
    "web": {"app": "web", "tier": "frontend", "env": "prod"},
    "api": {"app": "api", "tier": "backend", "env": "prod", "app.kubernetes.io/part-of": "shop"},
    "db": {"app": "db", "tier": "backend", "env": "staging", "canary": ""},
    "bare": {},
}


@pytest.fixture
def labelled() -> None:
    cluster = ClusterFactory()
    for name, labels in LABELS.items():
        ResourceFactory(cluster=cluster, name=name, labels=labels)


def selected(selector: str) -> list[str]:
    return sorted(Resource.objects.filter(label_selector_q(selector)).values_list("name", flat=True))


@pytest.mark.parametrize(
    ("selector", "names"),
    [
        ("app=web", ["web"]),
        ("app==web", ["web"]),
        ("app = web", ["web"]),
        ("app!=web", ["api", "bare", "db"]),  # != also matches objects without the key
        ("tier=backend,env=prod", ["api"]),
        ("app in (web,api)", ["api", "web"]),
        ("app in ( web , api )", ["api", "web"]),
        ("env notin (prod)", ["bare", "db"]),  # so does notin
        ("tier in (backend),app notin (db)", ["api"]),
        ("canary", ["db"]),
        ("!canary", ["api", "bare", "web"]),
        ("canary=", ["db"]),  # the empty value
        ("app.kubernetes.io/part-of=shop", ["api"]),
        ("app.kubernetes.io/part-of", ["api"]),
        ("app=nothing", []),
        ("", ["api", "bare", "db", "web"]),
        ("  ", ["api", "bare", "db", "web"]),
    ],
)
def test_selectors_select_as_kubernetes_does(labelled, selector, names):
    assert selected(selector) == names


def test_equality_is_jsonb_containment_which_the_gin_index_answers(labelled):
    query = Resource.objects.filter(label_selector_q("app=web,tier in (frontend,backend)"))

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "@>" in plan
    assert "resource_labels" in plan


@pytest.mark.parametrize(
    ("selector", "says"),
    [
        ("app in web", "expected '(' after 'app in', found 'web'"),
        ("app in (web", "expected ',' or ')' in the value list of 'app in', found the end"),
        ("app in ()", "the value list of 'app in' is empty"),
        ("app=web tier=api", "expected ',' between requirements, found 'tier'"),
        ("app>3", "'>' (numeric comparison) is not supported"),
        ("=web", "expected a label key, found '='"),
        ("app=web,", "expected a label key, found the end"),
        ("!app=web", "expected ',' between requirements, found '='"),
        ("-app=web", "invalid label key '-app'"),
        ("Example.com/app=web", "the prefix before '/' must be a DNS subdomain"),
        ("/app=web", "the prefix before '/' must be a DNS subdomain"),
        ("a" * 64 + "=x", "at most 63 characters"),
        ("app=web!", "expected ',' between requirements, found '!'"),
        ("app=-web", "invalid label value '-web'"),
        ("app=" + "v" * 64, "invalid label value"),
        ("app like web", "expected an operator (=, ==, !=, in, notin) after 'app', found 'like'"),
    ],
)
def test_a_bad_selector_says_what_is_wrong_and_how_to_write_one(selector, says):
    with pytest.raises(ValueError, match="invalid label selector") as raised:
        label_selector_q(selector)

    message = str(raised.value)
    assert says in message
    assert "app in (web,api)" in message
