"""/healthz (the process is alive) and /readyz (everything a decision needs is usable)."""

import logging

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import override_settings

from identity import keys
from identity.views import health
from tests.factories import PolicyFactory

UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
    }
}
ALL_OK = {"database": "ok", "cache": "ok", "signing_keys": "ok", "snapshot": "ok"}


@pytest.fixture
def database_down(monkeypatch):
    """Every SQL statement fails as it does when PostgreSQL is unreachable."""

    def refuse(self, sql, params=None):
        raise OperationalError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)


def test_healthz_answers_ok_as_plain_text(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"] == "text/plain; charset=utf-8"


def test_healthz_is_never_cached(client):
    response = client.get("/healthz")

    assert "no-store" in response["Cache-Control"]


def test_healthz_touches_no_database(client, database_down):
    # No django_db mark: any query would raise, as it would with the database down.
    response = client.get("/healthz")

    assert response.status_code == 200


def test_healthz_refuses_post(client):
    response = client.post("/healthz")

    assert response.status_code == 405


@pytest.mark.django_db
def test_readyz_reports_every_check_ok(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == ALL_OK
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_fails_when_the_database_is_unreachable(client, database_down):
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["database"] == "failed"


@pytest.mark.django_db
def test_readyz_fails_only_the_cache_when_redis_is_unreachable(client):
    with override_settings(CACHES=UNREACHABLE_REDIS):
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {**ALL_OK, "cache": "failed"}


@pytest.mark.django_db
def test_readyz_fails_when_the_cache_loses_what_was_stored(client, monkeypatch):
    monkeypatch.setattr(health.cache, "get", lambda key, default=None: None)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {**ALL_OK, "cache": "failed"}


@pytest.mark.django_db
def test_readyz_fails_when_no_key_can_sign(client, monkeypatch):
    def unavailable():
        raise keys.SigningKeyUnavailable("the current signing key cannot be decrypted")

    monkeypatch.setattr(keys, "signing_key", unavailable)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {**ALL_OK, "signing_keys": "failed"}


@pytest.mark.django_db
def test_readyz_fails_when_the_snapshot_cannot_compile(client):
    PolicyFactory(include=[{"no_such_selector": {}}])

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {**ALL_OK, "snapshot": "failed"}


@pytest.mark.django_db
def test_readyz_keeps_the_reason_out_of_the_response_and_in_the_log(client, caplog):
    PolicyFactory(include=[{"no_such_selector": {}}])

    with caplog.at_level(logging.ERROR, logger="accessproject.health"):
        response = client.get("/readyz")

    assert b"no_such_selector" not in response.content
    record = next(r for r in caplog.records if r.name == "accessproject.health")
    assert record.check == "snapshot"
    assert "no_such_selector" in record.exc_text or "no_such_selector" in str(record.exc_info[1])
