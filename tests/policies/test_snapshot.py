"""The compiled snapshot: what it holds, that it serves decisions without SQL, and that it follows
changes made by this process and by others."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path

import pytest

from common.credentials import hash_secret
from policies import services
from policies.decision import Action
from policies.models import IdentityProvider
from policies.rules import Subject
from policies.snapshot import SnapshotError, get_snapshot, invalidate_snapshot
from tests.factories import (
    AccessGroupFactory,
    ApplicationFactory,
    PolicyFactory,
    ServiceTokenFactory,
)

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_snapshot():
    """Each test's database differs; never reuse another test's snapshot."""
    invalidate_snapshot()
    yield
    invalidate_snapshot()


def test_snapshot_matches_domain_and_destinations():
    application = ApplicationFactory(domain="app.example.com", destinations=["api.example.com/v1"])
    snapshot = get_snapshot()
    assert snapshot.match("api.example.com", "/v1/users")[0].id == application.id
    assert snapshot.match("api.example.com", "/v2")[0] is None


def test_snapshot_indexes_applications_by_aud():
    application = ApplicationFactory()
    assert get_snapshot().by_aud[application.aud].name == application.name


def test_snapshot_orders_policies_for_evaluation():
    application = ApplicationFactory()
    PolicyFactory(application=application, name="A", decision="allow", precedence=1)
    PolicyFactory(
        application=application,
        name="C",
        decision="non_identity",
        precedence=3,
        include=[{"any_valid_service_token": {}}],
    )
    compiled = get_snapshot().applications[application.id]
    assert [policy.name for policy in compiled.policies] == ["C", "A"]
    assert compiled.policies[0].action is Action.NON_IDENTITY


def test_snapshot_decides_with_groups():
    AccessGroupFactory(name="staff", include=[{"email_domain": {"domain": "example.com"}}])
    application = ApplicationFactory()
    PolicyFactory(application=application, include=[{"group": {"name": "staff"}}])
    snapshot = get_snapshot()
    compiled = snapshot.applications[application.id]
    assert snapshot.decide(compiled, Subject(email="ann@example.com")).allowed is True
    assert snapshot.decide(compiled, Subject(email="ann@evil.net")).allowed is False


def test_snapshot_compiles_cors_headers():
    application = ApplicationFactory(
        cors_headers={"allowed_origins": ["https://web.example.com"], "allowed_methods": ["GET"]}
    )
    cors = get_snapshot().applications[application.id].cors
    assert cors.allowed_origins == frozenset({"https://web.example.com"})


def test_empty_deny_message_compiles_to_the_default_text():
    application = ApplicationFactory(custom_deny_message="")
    compiled = get_snapshot().applications[application.id]
    assert compiled.custom_deny_message == "That account does not have access."


def test_snapshot_lists_allowed_idps_by_id():
    application = ApplicationFactory()
    services.application_update(application=application, allowed_idps=["Password"])
    invalidate_snapshot()
    password = IdentityProvider.objects.get(name="Password")
    assert get_snapshot().applications[application.id].allowed_idps == (str(password.pk),)


def test_snapshot_holds_identity_providers_by_id_in_name_order():
    providers = get_snapshot().identity_providers
    assert [(p.id, p.name, p.type) for p in providers.values()] == [
        (str(p.pk), p.name, p.type) for p in IdentityProvider.objects.order_by("name")
    ]
    assert [p.name for p in providers.values()] == ["One-time PIN", "Password"]
    assert list(providers) == [str(p.pk) for p in IdentityProvider.objects.order_by("name")]


def test_snapshot_parses_a_providers_config_with_its_decrypted_secret():
    services.identity_provider_create(
        name="Corp",
        type="oidc",
        config={"client_id": "app", "client_secret": "s3cret", "issuer": "https://idp.example"},
    )
    invalidate_snapshot()
    corp = get_snapshot().provider_named("Corp")
    assert corp is not None
    assert corp.type == "oidc"
    assert corp.config is not None
    assert corp.config.client_secret == "s3cret"
    assert "s3cret" not in IdentityProvider.objects.get(name="Corp").secrets


def test_a_provider_whose_secret_cannot_be_decrypted_is_unusable_not_an_outage(settings):
    services.identity_provider_create(
        name="Corp",
        type="oidc",
        config={"client_id": "app", "client_secret": "s3cret", "issuer": "https://idp.example"},
    )
    settings.SECRET_KEY = "another secret key entirely, as after a botched rotation"
    invalidate_snapshot()
    snapshot = get_snapshot()
    assert snapshot.provider_named("Corp").usable is False
    assert snapshot.provider_named("Password").usable is True


def test_service_token_accepts_its_secret_until_it_expires():
    token = ServiceTokenFactory(secret="a" * 64, expires_at=NOW)
    compiled = get_snapshot().service_tokens[token.client_id]
    assert compiled.accepts("a" * 64, now=NOW - timedelta(seconds=1)) is True
    assert compiled.accepts("a" * 64, now=NOW) is False
    assert compiled.accepts("b" * 64, now=NOW - timedelta(seconds=1)) is False


def test_previous_secret_works_only_during_its_grace():
    token = ServiceTokenFactory(
        secret="new" * 20,
        previous_secret_hash=hash_secret("old" * 20),
        previous_secret_expires_at=NOW,
    )
    compiled = get_snapshot().service_tokens[token.client_id]
    assert compiled.accepts("old" * 20, now=NOW - timedelta(seconds=1)) is True
    assert compiled.accepts("old" * 20, now=NOW) is False
    assert compiled.accepts("new" * 20, now=NOW) is True


def test_malformed_stored_row_raises_and_names_the_row(caplog):
    application = ApplicationFactory(name="Broken")
    PolicyFactory(application=application, name="bad rule", include=[{"email": {}}])
    with pytest.raises(SnapshotError, match="bad rule"):
        get_snapshot()
    assert "bad rule" in caplog.text


def test_no_sql_across_a_thousand_decisions_after_warm_up(settings, django_assert_num_queries):
    settings.ACCESS_VERSION_CHECK_INTERVAL = 3600
    application = ApplicationFactory(domain="app.example.com")
    PolicyFactory(application=application, include=[{"ip": {"ip": "10.0.0.0/8"}}])
    get_snapshot()
    subject = Subject(email="ann@example.com", ip=ip_address("10.1.2.3"))
    with django_assert_num_queries(0):
        for _ in range(1000):
            snapshot = get_snapshot()
            found, _non_canonical = snapshot.match("app.example.com", "/page")
            assert snapshot.decide(found, subject).allowed is True


def test_a_change_through_a_service_is_seen_by_the_next_snapshot(
    settings, django_capture_on_commit_callbacks
):
    settings.ACCESS_VERSION_CHECK_INTERVAL = 3600
    assert get_snapshot().match("new.example.com", "/")[0] is None
    with django_capture_on_commit_callbacks(execute=True):
        services.application_create(name="New", domain="new.example.com")
    assert get_snapshot().match("new.example.com", "/")[0].name == "New"


# Answers each line it reads with what its own (warm) snapshot says of other.example.com.
READER = """
import sys
import django
django.setup()
from policies.snapshot import get_snapshot
get_snapshot()
print("ready", flush=True)
for _ in sys.stdin:
    found = get_snapshot().match("other.example.com", "/")[0]
    print("absent" if found is None else found.name, flush=True)
"""

WRITER = (
    "from policies import services; "
    "services.application_create(name='Other', domain='other.example.com')"
)


@pytest.mark.multiprocess
def test_a_change_by_another_process_is_seen_by_the_next_get_after_its_commit(tmp_path):
    """A reader process keeps a warm snapshot; a writer process commits a change through a
    service. Checking the version on every get (`ACCESS_VERSION_CHECK_INTERVAL=0`), the
    reader's first get after the writer exited (its commit is done) sees the change; how soon
    a check comes with the default interval is `make bench`'s, not a test's."""
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CACHE_URL": "locmemcache://",
        "DJANGO_SETTINGS_MODULE": "accessproject.settings",
        "ACCESS_VERSION_CHECK_INTERVAL": "0",
    }
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    subprocess.run(
        [*manage, "migrate", "--noinput"], env=env, cwd=BASE_DIR, check=True, capture_output=True
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", READER],
        env=env,
        cwd=BASE_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )

    def ask() -> str:
        reader.stdin.write("get\n")
        reader.stdin.flush()
        return reader.stdout.readline().strip()

    try:
        assert reader.stdout.readline().strip() == "ready"
        before = ask()
        subprocess.run(
            [*manage, "shell", "-c", WRITER], env=env, cwd=BASE_DIR, check=True, capture_output=True
        )
        after = ask()
    finally:
        reader.kill()
        reader.wait()
    assert (before, after) == ("absent", "Other")


def test_a_provider_row_with_an_invalid_config_is_unusable_not_an_outage():
    IdentityProvider.objects.create(name="Hand-edited", type="oidc", config={"issuer": 7})
    invalidate_snapshot()
    snapshot = get_snapshot()
    assert snapshot.provider_named("Hand-edited").usable is False
    assert snapshot.provider_named("Password").usable is True
