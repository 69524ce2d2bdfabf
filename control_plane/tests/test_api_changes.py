"""The change feed: oldest first after a cursor, `next` to continue, filters and permissions, and the long poll."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection

from control_plane.models import ResourceChange
from control_plane.tests import test_api_inventory as shared
from control_plane.tests.inventory_factories import ResourceChangeFactory
from control_plane.tests.test_api_inventory import assert_problem

pytestmark = pytest.mark.django_db
world, clients = shared.world, shared.clients  # the same fixtures as the resource tests


def feed(client: Any, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/changes/", params)
    assert response.status_code == 200, response.content
    return response.json()


def entry_ids(body: dict[str, Any]) -> list[int]:
    return [entry["id"] for entry in body["results"]]


@pytest.fixture
def changes(world) -> dict[str, ResourceChange]:
    """One change each, in this order: payments' web (prod), the search ConfigMap, payments' web (staging), the
    unowned subnet, payments' claim."""
    return {
        name: ResourceChangeFactory(resource=getattr(world, name))
        for name in ("web", "settings", "web_staging", "subnet", "claim")
    }


def test_the_feed_is_oldest_first_and_next_continues_after_the_last_entry(world, clients, changes):
    first = feed(clients["admin"], after=0)
    assert entry_ids(first) == sorted(c.pk for c in changes.values())
    assert (first["next"], first["has_more"]) == (changes["claim"].pk, False)
    assert feed(clients["admin"], after=first["next"])["results"] == []

    newer = ResourceChangeFactory(
        resource=world.api,
        condition_transitions=[{"type": "Ready", "from": "True", "to": "False", "reason": "X", "message": ""}],
    )
    again = feed(clients["admin"], after=first["next"])
    assert entry_ids(again) == [newer.pk]
    assert again["results"][0]["resource"] == {
        "id": world.api.pk,
        "cluster": "prod",
        "api_version": "apps/v1",
        "kind": "Deployment",
        "namespace": "payments",
        "name": "api",
    }
    assert again["results"][0]["team"] == "payments"
    assert again["results"][0]["condition_transitions"][0]["to"] == "False"


def test_page_size_splits_the_feed_and_has_more_says_to_call_again(clients, changes):
    ordered = sorted(c.pk for c in changes.values())

    first = feed(clients["admin"], after=0, page_size=2)
    second = feed(clients["admin"], after=first["next"], page_size=2)
    third = feed(clients["admin"], after=second["next"], page_size=2)

    assert [entry_ids(first), entry_ids(second), entry_ids(third)] == [ordered[:2], ordered[2:4], ordered[4:]]
    assert [first["has_more"], second["has_more"], third["has_more"]] == [True, True, False]
    assert (first["next"], second["next"]) == (ordered[1], ordered[3])


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("admin", ["web", "settings", "web_staging", "subnet", "claim"]),
        ("member", ["web", "web_staging", "claim"]),
        ("outsider", ["settings"]),
        ("loner", []),
    ],
)
def test_the_feed_holds_only_changes_the_caller_may_see(clients, changes, role, expected):
    body = feed(clients[role], after=0)

    assert entry_ids(body) == [changes[name].pk for name in expected]
    assert body["next"] == changes["claim"].pk  # past what it may not see: the next call does not scan it again


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"cluster": "staging"}, ["web_staging"]),
        ({"team": "payments"}, ["web", "web_staging", "claim"]),
        ({"kind": "deployments"}, ["web", "web_staging"]),
        ({"kind": "Instance", "cluster": "prod"}, ["subnet"]),
    ],
)
def test_filters(clients, changes, params, expected):
    assert entry_ids(feed(clients["admin"], after=0, **params)) == [changes[name].pk for name in expected]


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("after", "latest"),
        ("after", "-1"),
        ("after", ""),
        ("wait", "soon"),
        ("wait", "-2"),
        ("wait", "nan"),
        ("wait", ""),
        ("kind", "Gadget"),
        ("page_size", "0"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_parameter(clients, changes, parameter, value):
    assert_problem(clients["member"].get("/api/v1/changes/", {parameter: value}), 400, parameter=parameter)


# --- long poll -------------------------------------------------------------------------------------------------------


def newest_id() -> int:
    return ResourceChange.objects.order_by("-id").values_list("id", flat=True).first() or 0


def commit_later(delay: float, **kwargs: Any) -> threading.Thread:
    """Write a change-feed entry from another connection after `delay` seconds, as the sync would."""

    def write() -> None:
        try:
            time.sleep(delay)
            ResourceChangeFactory(**kwargs)
        finally:
            connection.close()

    thread = threading.Thread(target=write)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_during_the_wait_is_returned_before_the_wait_ends(world, clients):
    after = newest_id()
    writer = commit_later(0.6, resource=world.api)
    started = time.monotonic()

    body = feed(clients["member"], after=after, wait=10)

    elapsed = time.monotonic() - started
    writer.join()
    assert [entry["resource"]["id"] for entry in body["results"]] == [world.api.pk]
    assert 0.5 < elapsed < 3, elapsed
    assert body["next"] == body["results"][0]["id"]


@pytest.mark.django_db(transaction=True)
def test_a_change_the_caller_may_not_see_does_not_end_the_wait(world, clients):
    after = newest_id()
    writer = commit_later(0.2, resource=world.settings)  # the search team's
    started = time.monotonic()

    body = feed(clients["member"], after=after, wait=1.2)

    elapsed = time.monotonic() - started
    writer.join()
    assert body["results"] == []
    assert elapsed >= 1.2
    assert body["next"] == newest_id()


def test_an_empty_wait_answers_after_the_wait_with_the_same_cursor(clients, changes):
    after = newest_id()
    started = time.monotonic()

    body = feed(clients["member"], after=after, wait=1)

    elapsed = time.monotonic() - started
    assert body == {"results": [], "next": after, "has_more": False}
    assert 1 <= elapsed < 2.5, elapsed


def test_the_wait_is_capped_by_the_server(clients, changes, settings):
    settings.DEVPLAT_CHANGES_MAX_WAIT = 0.5
    started = time.monotonic()

    feed(clients["member"], after=newest_id(), wait=60)

    assert 0.5 <= time.monotonic() - started < 2


def test_without_wait_an_empty_feed_answers_at_once(clients, changes):
    started = time.monotonic()

    feed(clients["member"], after=newest_id())

    assert time.monotonic() - started < 0.5
