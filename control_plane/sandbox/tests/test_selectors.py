"""Label and field selector grammar and semantics, as k8s.io/apimachinery parses them."""

from __future__ import annotations

import pytest

from control_plane.kubeapi.errors import ApiError
from control_plane.sandbox.selectors import field_predicate, label_predicate

LABELS = {"app": "web", "env": "prod", "replicas": "3", "example.com/owner": "payments"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("app=web", True),
        ("app==web", True),
        ("app=db", False),
        ("app!=db", True),
        ("missing!=x", True),  # != matches objects without the key, as upstream
        ("app in (web, db)", True),
        ("app in (db)", False),
        ("app notin (db)", True),
        ("missing notin (db)", True),
        ("app", True),
        ("!app", False),
        ("!missing", True),
        ("replicas>2", True),
        ("replicas<3", False),
        ("example.com/owner=payments", True),
        ("app=web,env=prod", True),
        ("app=web,env in (dev,staging)", False),
        ("  app = web  ", True),
    ],
)
def test_label_selector(selector: str, matches: bool) -> None:
    predicate = label_predicate(selector)
    assert predicate is not None
    assert predicate(LABELS) is matches


@pytest.mark.parametrize("selector", ["app in (web", "app=we b", "=web", "app>x", "-app=web", "app=" + "v" * 64])
def test_malformed_label_selectors_are_400(selector: str) -> None:
    with pytest.raises(ApiError) as error:
        label_predicate(selector)
    assert error.value.code == 400 and error.value.reason == "BadRequest"


def test_empty_selectors_select_everything() -> None:
    assert label_predicate("") is None
    assert field_predicate(None) is None


def test_field_selectors_on_name_and_namespace() -> None:
    obj = {"metadata": {"name": "a", "namespace": "team"}}
    assert field_predicate("metadata.name=a")(obj)
    assert field_predicate("metadata.name==a,metadata.namespace=team")(obj)
    assert not field_predicate("metadata.namespace!=team")(obj)


def test_unknown_field_selector_is_400() -> None:
    with pytest.raises(ApiError) as error:
        field_predicate("spec.nodeName=n1")
    assert error.value.code == 400 and "spec.nodeName" in error.value.message
