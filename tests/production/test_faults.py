"""Faults: Redis or PostgreSQL unreachable. Requests are still decided correctly, or refused with
`503`; never a `500`, never let through unchecked; and service resumes by itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.processes import port_of, refusing_socket
from tests.production.actions import HOST, SERVICE_PATH
from tests.production.servers import Instance, TcpProxy, next_answers, recovers

pytestmark = pytest.mark.multiprocess


def _status(instance: Instance, path: str, token: str | None = None, **headers: str) -> int:
    if token:
        headers["Cookie"] = f"CF_Authorization={token}"
    return instance.request("GET", path, host=HOST, headers=headers).status


@pytest.fixture
def without_redis(deployment) -> Iterator[Instance]:
    """An instance whose CACHE_URL points at a port that refuses connections."""
    with refusing_socket() as closed:
        instance = deployment.instance(
            "no-redis", CACHE_URL=f"redis://127.0.0.1:{port_of(closed)}/0"
        ).start()
        yield instance
        instance.stop()


@pytest.fixture
def database_link(deployment) -> Iterator[TcpProxy]:
    """A TCP proxy in front of PostgreSQL that the test can cut and restore."""
    database = urlsplit(deployment.database_url)
    proxy = TcpProxy((database.hostname or "127.0.0.1", database.port or 5432))
    yield proxy
    proxy.close()


def _through(url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{proxy.port}" if credentials else f"127.0.0.1:{proxy.port}"
    return parts._replace(netloc=netloc).geturl()


@pytest.fixture
def behind_link(deployment, database_link) -> Iterator[Instance]:
    """An instance (with the shared Redis) whose database connection goes through the proxy."""
    instance = deployment.instance(
        "behind-link", DATABASE_URL=_through(deployment.database_url, database_link)
    ).start()
    yield instance
    instance.stop()


@pytest.fixture
def behind_link_without_shared_cache(deployment, database_link) -> Iterator[Instance]:
    """An instance with a per-process cache (it reads the version from the database)."""
    instance = deployment.instance(
        "behind-link-locmem",
        DATABASE_URL=_through(deployment.database_url, database_link),
        CACHE_URL="locmemcache://faults",
    ).start()
    yield instance
    instance.stop()


def test_without_redis_a_valid_token_passes(deployment, without_redis, application):
    alice = deployment.action("mint", "alice@example.com", application["aud"])

    assert _status(without_redis, application["path"], alice["token"]) == 200


def test_without_redis_a_person_the_policy_excludes_is_refused(
    deployment, without_redis, application
):
    mallory = deployment.action("mint", "mallory@example.org", application["aud"])

    assert _status(without_redis, application["path"], mallory["token"]) == 403


def test_without_redis_no_credentials_is_sent_to_sign_in(without_redis, application):
    assert _status(without_redis, application["path"]) == 302


def test_without_redis_a_service_token_passes(deployment, without_redis):
    service = deployment.seeded["service"]

    status = _status(
        without_redis,
        f"{SERVICE_PATH}/",
        **{
            "CF-Access-Client-Id": service["client_id"],
            "CF-Access-Client-Secret": service["client_secret"],
        },
    )

    assert status == 200


def test_without_redis_a_policy_change_is_enforced_at_the_next_request(
    deployment, without_redis, application
):
    alice = deployment.action("mint", "alice@example.com", application["aud"])
    assert _status(without_redis, application["path"], alice["token"]) == 200

    deployment.action("set-policy-domain", str(application["policy_id"]), "example.org")

    assert next_answers(lambda: _status(without_redis, application["path"], alice["token"])) == (
        [403] * 8
    )


def test_without_redis_readiness_names_the_cache(without_redis):
    answer = without_redis.request("GET", "/readyz", host=HOST)

    assert answer.status == 503
    assert json.loads(answer.body) == {
        "database": "ok",
        "cache": "failed",
        "signing_keys": "ok",
        "snapshot": "ok",
    }


def test_database_cut_with_a_per_process_cache_gives_503_then_recovers(
    deployment, behind_link_without_shared_cache, database_link, application
):
    instance = behind_link_without_shared_cache
    alice = deployment.action("mint", "alice@example.com", application["aud"])
    assert _status(instance, application["path"], alice["token"]) == 200

    database_link.cut()
    # Every request checks the version in the database, which is gone: refused from the next.
    assert next_answers(lambda: _status(instance, application["path"], alice["token"])) == (
        [503] * 8
    )
    assert _status(instance, "/healthz") == 200
    assert instance.request("GET", "/readyz", host=HOST).status == 503

    database_link.restore()
    before, statuses = recovers(
        lambda: _status(instance, application["path"], alice["token"]),
        lambda status: status == 200,
    )
    assert before >= 0, statuses
    assert set(statuses) <= {200, 503}


def test_database_cut_while_the_configuration_changes_elsewhere_gives_503_never_stale(
    deployment, behind_link, database_link, application
):
    alice = deployment.action("mint", "alice@example.com", application["aud"])
    assert _status(behind_link, application["path"], alice["token"]) == 200

    database_link.cut()
    # Made by another host, which still reaches the database: the version moves in Redis, so
    # the cut-off instance must rebuild and cannot.
    deployment.action("set-policy-domain", str(application["policy_id"]), "example.org")
    assert next_answers(lambda: _status(behind_link, application["path"], alice["token"])) == (
        [503] * 8
    )

    database_link.restore()
    before, statuses = recovers(
        lambda: _status(behind_link, application["path"], alice["token"]),
        lambda status: status == 403,
    )
    assert before >= 0, statuses
    assert set(statuses) <= {403, 503}


def test_without_redis_the_login_page_still_answers(without_redis, application):
    redirect = without_redis.request("GET", application["path"], host=HOST)
    assert redirect.status == 302
    login_url = urlsplit(redirect.headers["location"])

    page = without_redis.request(
        "GET",
        f"{login_url.path}?{login_url.query}",
        host=login_url.hostname or HOST,
        headers={"Cookie": redirect.headers.get("set-cookie", "").split(";")[0]},
    )

    assert page.status == 200
