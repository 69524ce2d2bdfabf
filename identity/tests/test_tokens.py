"""API tokens (R11): `dp_<key id>_<secret>`, shown once, stored only as an HMAC digest under a versioned pepper."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from identity import services, tokens
from identity.constants import TOKEN_LAST_USED_RESOLUTION_SECONDS
from identity.models import ApiToken
from identity.tests.factories import ApiTokenFactory, UserFactory

pytestmark = pytest.mark.django_db

TOKEN_FORMAT = re.compile(r"^dp_(?P<key_id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43})$")
PEPPER_1 = {1: "pepper-one-for-tests"}
PEPPERS_1_2 = {1: "pepper-one-for-tests", 2: "pepper-two-for-tests"}
PEPPER_2 = {2: "pepper-two-for-tests"}


def bearer(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def text_columns() -> list[tuple[str, str]]:
    """Every text-like column of every table in the schema devplat uses."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.table_name, c.column_name
            FROM information_schema.columns c
            JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
              AND c.data_type IN ('character varying', 'character', 'text', 'json', 'jsonb')
            """
        )
        return cursor.fetchall()


def rows_containing(needle: str) -> list[tuple[str, str]]:
    """(table, column) pairs where some row's value contains `needle`; this transaction's rows included."""
    found = []
    with connection.cursor() as cursor:
        for table, column in text_columns():
            # Table and column names come from the catalog, not from input.
            sql = f'SELECT count(*) FROM "{table}" WHERE strpos("{column}"::text, %s) > 0'  # noqa: S608
            cursor.execute(sql, [needle])
            if cursor.fetchone()[0]:
                found.append((table, column))
    return found


def test_a_token_is_dp_then_16_hex_then_a_url_safe_secret():
    issued = services.token_create(owner=UserFactory())
    match = TOKEN_FORMAT.match(issued.plaintext)
    assert match, issued.plaintext
    assert match["key_id"] == issued.token.key_id
    assert tokens.parse(issued.plaintext) == tokens.TokenParts(key_id=match["key_id"], secret=match["secret"])


def test_every_token_is_different():
    owner = UserFactory()
    plaintexts = {services.token_create(owner=owner).plaintext for _ in range(20)}
    assert len(plaintexts) == 20
    assert len({TOKEN_FORMAT.match(p)["secret"] for p in plaintexts}) == 20


def test_the_stored_digest_is_the_hmac_of_the_secret_not_the_secret():
    issued = services.token_create(owner=UserFactory())
    token = ApiToken.objects.get(pk=issued.token.pk)
    secret = TOKEN_FORMAT.match(issued.plaintext)["secret"]
    assert re.fullmatch(r"[0-9a-f]{64}", token.digest)
    assert secret not in token.digest
    assert token.digest == tokens.digest(tokens.parse(issued.plaintext), token.pepper_id)


def test_no_table_in_the_database_holds_a_plaintext_secret(platform_admin):
    """Create tokens through the service and through the API, then search every text column for the secrets."""
    owner = UserFactory(username="holder")
    plaintexts = [services.token_create(owner=owner, scope=scope).plaintext for scope in ("read", "provision", "admin")]
    client = APIClient()
    client.force_authenticate(platform_admin)
    response = client.post("/api/v1/tokens/", {"scope": "admin", "description": "ci"}, format="json")
    assert response.status_code == 201
    plaintexts.append(response.json()["token"])

    assert ApiToken.objects.count() == 4
    # The control: the scan does find what is stored (the public key id), so finding nothing below means something.
    key_id = TOKEN_FORMAT.match(plaintexts[0])["key_id"]
    found = rows_containing(key_id)
    assert ("identity_apitoken", "key_id") in found
    assert ("governance_auditevent", "after") in found  # JSON columns are searched too
    for plaintext in plaintexts:
        secret = TOKEN_FORMAT.match(plaintext)["secret"]
        assert rows_containing(plaintext) == []
        assert rows_containing(secret) == []
        assert rows_containing(secret[:20]) == []


def test_the_database_refuses_a_digest_that_is_not_64_hex_characters():
    owner = UserFactory()
    secret = tokens.generate()
    for bad_digest in (secret.secret, "A" * 64, "0" * 63, "g" * 64, str(secret)):
        with pytest.raises(IntegrityError, match="apitoken_digest_only"), transaction.atomic():
            ApiToken.objects.create(key_id=secret.key_id, pepper_id=1, digest=bad_digest, owner=owner)
    assert not ApiToken.objects.exists()


def test_the_database_refuses_a_key_id_that_is_not_16_hex_characters():
    owner = UserFactory()
    with pytest.raises(IntegrityError, match="apitoken_key_id_hex"), transaction.atomic():
        ApiToken.objects.create(key_id="not-a-hex-key-id", pepper_id=1, digest="0" * 64, owner=owner)


def test_the_right_token_authenticates_and_the_api_knows_which_token_it_was():
    token = ApiTokenFactory(owner=UserFactory(username="agent"))
    response = bearer(token.plaintext).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "agent"
    assert response.json()["token"]["key_id"] == token.key_id


def test_a_wrong_secret_with_a_real_key_id_is_401():
    token = ApiTokenFactory()
    parts = tokens.parse(token.plaintext)
    flipped = ("B" if parts.secret[0] == "A" else "A") + parts.secret[1:]
    for wrong in (
        f"dp_{parts.key_id}_{flipped}",  # one character off
        f"dp_{parts.key_id}_{parts.secret[:-1]}",  # one character short
        f"dp_{parts.key_id}_{tokens.generate().secret}",  # another well-formed secret
    ):
        response = bearer(wrong).get("/api/v1/me/")
        assert response.status_code == 401, wrong
        assert response["Content-Type"] == "application/problem+json"
    assert bearer(token.plaintext).get("/api/v1/me/").status_code == 200


def test_tokens_from_one_pepper_keep_working_after_a_second_is_added_and_stop_when_it_is_removed():
    owner = UserFactory()
    with override_settings(DEVPLAT_TOKEN_PEPPERS=PEPPER_1):
        old = services.token_create(owner=owner)
        assert bearer(old.plaintext).get("/api/v1/me/").status_code == 200
    assert old.token.pepper_id == 1

    with override_settings(DEVPLAT_TOKEN_PEPPERS=PEPPERS_1_2):
        new = services.token_create(owner=owner)
        assert new.token.pepper_id == 2  # new tokens use the newest pepper
        assert new.token.digest != tokens.digest(tokens.parse(new.plaintext), 1)
        assert bearer(old.plaintext).get("/api/v1/me/").status_code == 200
        assert bearer(new.plaintext).get("/api/v1/me/").status_code == 200

    with override_settings(DEVPLAT_TOKEN_PEPPERS=PEPPER_2):
        response = bearer(old.plaintext).get("/api/v1/me/")
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"
        assert bearer(new.plaintext).get("/api/v1/me/").status_code == 200


def test_a_changed_pepper_value_under_the_same_id_invalidates_its_tokens():
    with override_settings(DEVPLAT_TOKEN_PEPPERS=PEPPER_1):
        issued = services.token_create(owner=UserFactory())
    with override_settings(DEVPLAT_TOKEN_PEPPERS={1: "a-different-pepper"}):
        assert bearer(issued.plaintext).get("/api/v1/me/").status_code == 401


def token_updates(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith('UPDATE "identity_apitoken"')]


def test_last_used_at_is_written_on_first_use_and_not_again_within_the_minute():
    token = ApiTokenFactory()
    client = bearer(token.plaintext)
    assert token.last_used_at is None

    with CaptureQueriesContext(connection) as first:
        assert client.get("/api/v1/me/").status_code == 200
    assert len(token_updates(first.captured_queries)) == 1
    token.refresh_from_db()
    used = token.last_used_at
    assert used is not None
    assert timezone.now() - used < datetime.timedelta(seconds=10)

    with CaptureQueriesContext(connection) as second:
        assert client.get("/api/v1/me/").status_code == 200
    assert token_updates(second.captured_queries) == []
    token.refresh_from_db()
    assert token.last_used_at == used


def test_last_used_at_is_written_again_once_the_minute_has_passed():
    token = ApiTokenFactory()
    earlier = timezone.now() - datetime.timedelta(seconds=TOKEN_LAST_USED_RESOLUTION_SECONDS + 5)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=earlier)
    with CaptureQueriesContext(connection) as ctx:
        assert bearer(token.plaintext).get("/api/v1/me/").status_code == 200
    assert len(token_updates(ctx.captured_queries)) == 1
    token.refresh_from_db()
    assert token.last_used_at > earlier + datetime.timedelta(seconds=TOKEN_LAST_USED_RESOLUTION_SECONDS)


def test_a_failed_authentication_does_not_touch_last_used_at():
    token = ApiTokenFactory()
    parts = tokens.parse(token.plaintext)
    assert bearer(f"dp_{parts.key_id}_{tokens.generate().secret}").get("/api/v1/me/").status_code == 401
    token.refresh_from_db()
    assert token.last_used_at is None


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "dp_",
        "dp_0123456789abcdef",
        "dp_0123456789ABCDEF_" + "a" * 43,  # upper-case key id
        "dp_0123456789abcde_" + "a" * 43,  # 15 hex
        "xx_0123456789abcdef_" + "a" * 43,  # wrong prefix
        "dp_0123456789abcdef_short",  # secret under 16 characters
        "dp_0123456789abcdef_" + "a" * 42 + "!",  # not URL-safe
    ],
)
def test_parse_rejects_anything_but_the_token_format(raw):
    with pytest.raises(tokens.MalformedToken):
        tokens.parse(raw)


def test_matches_is_false_for_a_retired_pepper_rather_than_an_error():
    parts = tokens.generate()
    with override_settings(DEVPLAT_TOKEN_PEPPERS=PEPPER_1):
        stored = tokens.digest(parts, 1)
        assert tokens.matches(parts, 1, stored)
        assert not tokens.matches(parts, 2, stored)
        assert not tokens.matches(tokens.generate(), 1, stored)
