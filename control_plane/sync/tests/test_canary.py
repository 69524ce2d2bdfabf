"""R10: Secret values, last-applied manifests and managedFields never reach the database or the logs."""

from __future__ import annotations

import logging

import pytest
from django.db import connection

from control_plane.sync.engine import sync_window
from control_plane.sync.tests.support import create

CANARY = "CANARY-7f3a"

pytestmark = pytest.mark.timeout(120)


def database_text() -> str:
    """Every text and json column of every devplat table, as one string (a `pg_dump | grep` without pg_dump)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type IN ('text', 'character varying', 'jsonb', 'json')"
        )
        columns = cursor.fetchall()
        parts = []
        for table, column in columns:
            cursor.execute(f'SELECT string_agg("{column}"::text, \' \') FROM "{table}"')  # noqa: S608 (catalog names)
            parts.append(cursor.fetchone()[0] or "")
    return "\n".join(parts)


def test_the_canary_never_reaches_the_database_or_the_logs(sandbox, cluster, caplog):
    caplog.set_level(logging.DEBUG)
    managed_fields = [{"manager": "kubectl", "operation": "Update", "fieldsV1": {f"f:{CANARY}": {}}}]
    create(
        sandbox,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db-conn", "namespace": "default", "annotations": {"note": "keys only"}},
            "stringData": {"password": CANARY},
            "data": {"token": "Q0FOQVJZLTdmM2E="},  # base64 of the canary
        },
    )
    create(
        sandbox,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "settings",
                "namespace": "default",
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": f'{{"data":{{"x":"{CANARY}"}}}}'},
                "managedFields": managed_fields,
            },
            "data": {"x": CANARY},
        },
    )
    report = sync_window(cluster, seconds=10, once=True)
    assert report is not None and report.errors == {}

    text = database_text()
    assert "db-conn" in text and "password" in text and "token" in text  # the Secret and its key names are there
    assert CANARY not in text
    assert "Q0FOQVJZLTdmM2E=" not in text
    assert CANARY not in caplog.text
