"""The admin's "Lock-outs in force" page: what is locked now, for how long, and lifting one."""

from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from common.models import AuditEntry
from identity.events import record_event
from identity.lockouts import current_lockouts, lockout_lift
from identity.models import AuthEvent
from identity.throttles import PIN_VERIFY_PER_IP, Spent
from tests.identity.signin_support import Browser, LoginFlow, make_application

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
PAGE = "admin:identity_lockouts"


@pytest.fixture(autouse=True)
def _no_team_domain(settings):
    settings.ACCESS_TEAM_DOMAIN = ""


@pytest.fixture
def ann(db):
    return get_user_model().objects.create_user("ann", email="ann@example.com", password=PASSWORD)


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "x" * 20)


@pytest.fixture
def flow(db):
    return LoginFlow(Browser(), make_application(domain="app.localhost/demo"))


def _lock_ann(flow):
    for _ in range(5):
        flow.password("ann", "wrong")


def _rows(response):
    return [(lock.step, lock.scope, lock.who, lock.ip) for lock in response.context["lockouts"]]


def test_the_page_lists_a_password_lock_out_with_its_time_left(client, root, ann, flow):
    _lock_ann(flow)
    client.force_login(root)
    response = client.get(reverse(PAGE))
    assert response.status_code == 200
    assert _rows(response) == [("password", "username at ip", "ann", "127.0.0.1")]
    body = response.content.decode()
    assert "<td>10 min</td>" in body
    assert 'name="scope" value="username at ip"' in body
    later = timezone.now() + timedelta(minutes=10, seconds=1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert _rows(client.get(reverse(PAGE))) == []


def test_the_event_list_links_to_the_page(client, root):
    client.force_login(root)
    response = client.get(reverse("admin:identity_authevent_changelist"))
    assert reverse(PAGE) in response.content.decode()


def test_lifting_lets_the_person_in_at_once_and_is_audited(client, root, ann, flow):
    _lock_ann(flow)
    assert flow.password("ann", PASSWORD).status_code == 429
    client.force_login(root)
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.LOCKOUT)
    response = client.post(reverse(PAGE), {"event": str(event.pk), "scope": "username at ip"})
    assert response.status_code == 302
    assert flow.password("ann", PASSWORD).status_code == 302
    assert _rows(client.get(reverse(PAGE))) == []
    entry = AuditEntry.objects.get(object_type="lock-out")
    assert (entry.action, entry.channel, entry.actor) == ("lift", "admin", "root")
    assert entry.object_name == "password, username at ip: ann"


def test_lifting_forgets_the_failures_too(client, root, ann, flow):
    _lock_ann(flow)
    client.force_login(root)
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.LOCKOUT)
    client.post(reverse(PAGE), {"event": str(event.pk), "scope": "username at ip"})
    for _ in range(4):
        flow.password("ann", "wrong")
    assert flow.password("ann", PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "data",
    [
        {"event": "abc", "scope": "ip"},
        {"event": "999999", "scope": "ip"},
        {},
        {"event": "9" * 30, "scope": "username at ip"},
        {"event": "-3", "scope": "username at ip"},
        {"event": "1\x00", "scope": "username at ip\x00"},
    ],
)
def test_lifting_nothing_changes_nothing(client, root, ann, flow, data):
    _lock_ann(flow)
    client.force_login(root)
    response = client.post(reverse(PAGE), data, follow=True)
    assert response.status_code == 200
    assert [m.level_tag for m in response.context["messages"]] == ["warning"]
    assert flow.password("ann", PASSWORD).status_code == 429
    assert not AuditEntry.objects.filter(object_type="lock-out").exists()


def test_lifting_another_scope_of_the_event_changes_nothing(client, root, ann, flow):
    _lock_ann(flow)
    client.force_login(root)
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.LOCKOUT)
    client.post(reverse(PAGE), {"event": str(event.pk), "scope": "ip"})
    assert flow.password("ann", PASSWORD).status_code == 429


def test_readers_of_events_see_the_page_but_cannot_lift(client, ann, flow):
    _lock_ann(flow)
    reader = get_user_model().objects.create_user("reader", password="x" * 20, is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_authevent"))
    client.force_login(reader)
    response = client.get(reverse(PAGE))
    assert response.status_code == 200
    assert 'value="Lift"' not in response.content.decode()
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.LOCKOUT)
    response = client.post(reverse(PAGE), {"event": str(event.pk), "scope": "username at ip"})
    assert response.status_code == 403
    assert flow.password("ann", PASSWORD).status_code == 429


def test_staff_without_the_event_permission_see_nothing(client, ann, flow):
    _lock_ann(flow)
    staff = get_user_model().objects.create_user("staff", password="x" * 20, is_staff=True)
    client.force_login(staff)
    assert client.get(reverse(PAGE)).status_code == 403


def test_a_paused_pin_check_is_listed_and_lifted():
    now = timezone.now()
    outcomes = [PIN_VERIFY_PER_IP.spend("192.0.2.7", now=now) for _ in range(11)]
    assert outcomes[-1] is Spent.PAUSED
    record_event(
        AuthEvent.Kind.LOCKOUT,
        email="bob@example.com",
        ip="192.0.2.7",
        detail={"scope": [PIN_VERIFY_PER_IP.name], "step": "pin"},
    )
    (lockout,) = current_lockouts()
    assert (lockout.step, lockout.scope, lockout.who) == ("pin", "pin-verify-ip", "bob@example.com")
    assert lockout.minutes_left == 10
    assert lockout_lift(event_id=lockout.event_id, scope="pin-verify-ip")
    assert not PIN_VERIFY_PER_IP.is_paused("192.0.2.7")
    assert current_lockouts() == []


def test_lifting_needs_the_pages_csrf_token(ann, flow, root):
    from django.test import Client

    _lock_ann(flow)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(root)
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.LOCKOUT)
    response = browser.post(reverse(PAGE), {"event": str(event.pk), "scope": "username at ip"})
    assert response.status_code == 403
    assert flow.password("ann", PASSWORD).status_code == 429


def test_changing_users_without_reading_events_lifts_nothing(client, ann, flow):
    _lock_ann(flow)
    staff = get_user_model().objects.create_user("staff", password="x" * 20, is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="change_user"))
    client.force_login(staff)
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.LOCKOUT)
    response = client.post(reverse(PAGE), {"event": str(event.pk), "scope": "username at ip"})
    assert response.status_code == 403
    assert flow.password("ann", PASSWORD).status_code == 429
