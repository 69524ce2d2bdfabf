"""The API's orjson renderer writes what DRF's JSONRenderer writes, byte for byte, for every kind of value an answer
holds: dates and times as DRF formats them, and the types only DRF's encoder knows."""

from __future__ import annotations

import datetime
import decimal
import uuid

from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from devplat.core.api.renderers import ORJSONRenderer

MOMENT = datetime.datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=datetime.UTC)

ANSWER = {
    "results": [
        {
            "id": 4711,
            "name": "orders-db",
            "ready": False,
            "team": None,
            "labels": {"app": "web", "üñí": "çødé"},
            "conditions": [{"type": "Ready", "status": "False"}],
            "seen": MOMENT,
            "seen_whole_second": MOMENT.replace(microsecond=0),
            "day": MOMENT.date(),
            "time": datetime.time(10, 0, 0, 123456),
            "took": datetime.timedelta(seconds=90),
            "ratio": 0.25,
            "size": decimal.Decimal("1.50"),
            "uid": uuid.UUID("5f0c2a57-2b3e-4d55-9d62-5a8fe1e2a1c4"),
            "message": gettext_lazy("Not found."),
            "tuple": (1, 2),
            3: "a numeric key",
        }
    ],
    "next": None,
}


def test_the_same_bytes_as_drf():
    assert ORJSONRenderer().render(ANSWER) == JSONRenderer().render(ANSWER)


def test_no_body_for_none_and_drf_indents_when_asked():
    assert ORJSONRenderer().render(None) == b""
    indented = ORJSONRenderer().render(ANSWER, "application/json; indent=2")
    assert indented == JSONRenderer().render(ANSWER, "application/json; indent=2")
    assert b"\n  " in indented
