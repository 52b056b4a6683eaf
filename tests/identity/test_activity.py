"""The activity dashboard: decisions counted in memory and flushed, sign-ins from their events,
the admin's charts and the API's numbers, against events the tests make."""

from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from identity import activity
from identity.activity import MOST_KEYS, OTHER, flush_activity, record_decision
from identity.events import record_event
from identity.models import ActivityCount, AuthEvent
from tests.api.conftest import token_client
from tests.gatekit import API_HOST, CALLER, allow_policy, echo, make_application, token_for

pytestmark = pytest.mark.django_db

PROTECTED = "/demo/echo/api"


def counted():
    return {(row.dimension, row.value): row.count for row in ActivityCount.objects.all()}


@pytest.fixture
def app():
    application = make_application(name="Wiki API", domain=f"{API_HOST}{PROTECTED}")
    allow_policy(application)
    return application


def test_gate_decisions_are_counted_and_written_only_when_flushed(client, app):
    client.cookies["CF_Authorization"] = token_for(app)
    assert echo(client, PROTECTED, HTTP_ORIGIN=CALLER).status_code == 200
    del client.cookies["CF_Authorization"]
    assert (
        echo(client, f"{PROTECTED}/secret", HTTP_X_REQUESTED_WITH="XMLHttpRequest").status_code
        == 401
    )
    assert echo(client, "/demo/echo/open").status_code == 200  # no application: not counted
    assert not ActivityCount.objects.exists()  # nothing per request
    assert flush_activity() == 6
    assert counted() == {
        ("decision", "allow"): 1,
        ("decision", "unauthenticated"): 1,
        ("application", "Wiki API"): 2,
        ("origin", CALLER): 1,
        ("refused_path", f"{PROTECTED}/secret"): 1,
        ("refused_address", "127.0.0.1"): 1,
    }


def test_flushing_again_adds_to_the_same_rows():
    for _ in range(2):
        record_decision(decision="deny", application="A", path="/x", origin=None, ip="192.0.2.1")
        flush_activity()
    assert counted()[("decision", "deny")] == 2
    assert ActivityCount.objects.filter(dimension="decision").count() == 1


def test_a_failed_write_keeps_the_counts_for_the_next_flush():
    record_decision(decision="allow", application="A", path="/", origin=None, ip="")
    failing = mock.patch("identity.activity._write", side_effect=RuntimeError("db down"))
    with failing, pytest.raises(RuntimeError):
        flush_activity()
    flush_activity()
    assert counted()[("decision", "allow")] == 1


def test_distinct_values_are_bounded(monkeypatch):
    monkeypatch.setattr(activity, "MOST_KEYS", 3)
    for number in range(5):
        record_decision(decision="deny", application="", path=f"/{number}", origin=None, ip="")
    flush_activity()
    paths = {value: n for (dimension, value), n in counted().items() if dimension == "refused_path"}
    assert paths == {"/0": 1, "/1": 1, OTHER: 3}
    assert MOST_KEYS >= 1000


def test_rows_past_the_retention_are_deleted(settings):
    settings.ACCESS_ACTIVITY_RETENTION_DAYS = 7
    ActivityCount.objects.create(
        bucket=timezone.now() - timedelta(days=8), dimension="decision", value="allow", count=5
    )
    kept = ActivityCount.objects.create(
        bucket=timezone.now() - timedelta(days=6), dimension="decision", value="deny", count=1
    )
    flush_activity()
    assert list(ActivityCount.objects.all()) == [kept]


def test_a_flush_thread_is_started_only_when_the_interval_is_set(settings):
    with mock.patch("identity.activity.threading.Thread") as thread:
        record_decision(decision="allow", application="", path="/", origin=None, ip="")
        assert not thread.called
        activity.counters.forget()
        settings.ACCESS_ACTIVITY_FLUSH_SECONDS = 10
        record_decision(decision="allow", application="", path="/", origin=None, ip="")
        record_decision(decision="allow", application="", path="/", origin=None, ip="")
        assert thread.call_count == 1  # one flush at a time
        assert thread.call_args.kwargs["args"] == (10,)


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "x" * 20)


def _activity_made():
    for _ in range(3):
        record_decision(decision="allow", application="Wiki", path="/", origin=None, ip="")
    record_decision(
        decision="deny", application="Wiki", path="/admin", origin=CALLER, ip="203.0.113.9"
    )
    flush_activity()
    record_event(AuthEvent.Kind.SIGN_IN, email="ann@example.com")
    record_event(AuthEvent.Kind.SIGN_IN, email="bob@example.com")
    record_event(AuthEvent.Kind.SIGN_IN_REFUSED, email="eve@example.com")


@pytest.mark.usefixtures("on_login_host")
def test_the_dashboard_shows_the_numbers_as_charts_that_link_to_their_lists(client, root):
    _activity_made()
    client.force_login(root)
    response = client.get(reverse("admin:identity_activity"), {"period": "hour"})
    assert response.status_code == 200
    totals = {chart["name"]: chart["total"] for chart in response.context["charts"]}
    assert totals == {"allowed": 3, "refused": 1, "sign-ins": 2, "refused sign-ins": 1}
    tops = {top["name"]: top["rows"] for top in response.context["tops"]}
    assert tops["application"] == [("Wiki", 4)]
    assert tops["refused_path"] == [("/admin", 1)]
    assert tops["refused_address"] == [("203.0.113.9", 1)]
    body = response.content.decode()
    assert body.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"') == 8
    assert 'aria-label="Sign-ins: 2 in all, at most 2 in one slot"' in body
    assert "/admin/identity/authevent/?kind__exact=sign_in&amp;created_at__gte=" in body
    assert "/admin/identity/activitycount/?dimension__exact=application&amp;q=Wiki" in body
    assert "cdn" not in body.lower()
    assert '<script src="http' not in body
    # The links open the filtered lists.
    sign_ins = client.get(
        reverse("admin:identity_authevent_changelist"), {"kind__exact": "sign_in"}
    )
    assert sign_ins.status_code == 200
    assert "ann@example.com" in sign_ins.content.decode()
    assert "eve@example.com" not in sign_ins.content.decode()
    counts = client.get(
        reverse("admin:identity_activitycount_changelist"),
        {"dimension__exact": "refused_path", "q": "/admin"},
    )
    assert counts.status_code == 200
    assert "/admin" in counts.content.decode()


@pytest.mark.usefixtures("on_login_host")
def test_an_unknown_period_shows_the_day(client, root):
    client.force_login(root)
    response = client.get(reverse("admin:identity_activity"), {"period": "century"})
    assert response.context["period"] == "day"
    assert len(response.context["charts"]) == 4


@pytest.mark.usefixtures("on_login_host")
def test_the_dashboard_needs_the_event_permission(client):
    staff = get_user_model().objects.create_user("staff", password="x" * 20, is_staff=True)
    client.force_login(staff)
    assert client.get(reverse("admin:identity_activity")).status_code == 403


@pytest.mark.usefixtures("on_login_host")
def test_the_api_gives_the_same_numbers(root):
    _activity_made()
    api = token_client(root)
    response = api.get("/api/access/activity", {"period": "week"})
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["period"] == "week"
    assert result["step_seconds"] == 86400
    assert len(result["slots"]) == len(result["series"][0]["values"]) == 7
    totals = {series["name"]: series["total"] for series in result["series"]}
    assert totals == {"allowed": 3, "refused": 1, "sign-ins": 2, "refused sign-ins": 1}
    assert result["top"]["origin"] == [{"value": CALLER, "count": 1}]
    assert api.get("/api/access/activity", {"period": "year"}).status_code == 400


# --- who may read the activity -------------------------------------------------------------------


def _user_with(*codenames):
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(
        f"user-{len(codenames)}", password="x" * 20, is_staff=True
    )
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.mark.usefixtures("on_login_host")
@pytest.mark.parametrize(
    "codenames",
    [(), ("view_activitycount",), ("view_accesssession",), ("view_auditentry", "view_user")],
)
def test_the_api_refuses_a_token_without_the_event_permission(codenames):
    _activity_made()
    response = token_client(_user_with(*codenames), read_only=True).get("/api/access/activity")
    assert response.status_code == 403
    assert b"example.com" not in response.content
    assert b"203.0.113.9" not in response.content


@pytest.mark.usefixtures("on_login_host")
def test_the_api_refuses_a_caller_without_a_token():
    from rest_framework.test import APIClient

    _activity_made()
    response = APIClient().get("/api/access/activity")
    assert response.status_code == 401
    assert b"203.0.113.9" not in response.content


@pytest.mark.usefixtures("on_login_host")
def test_a_read_only_token_of_an_event_reader_gets_counts_and_no_addresses_of_people():
    _activity_made()
    reader = token_client(_user_with("view_authevent"), read_only=True)
    response = reader.get("/api/access/activity", {"period": "hour"})
    assert response.status_code == 200
    body = response.content.decode()
    # Sign-ins are counted, never named: the people's email addresses are in the events only.
    for email in ("ann@example.com", "bob@example.com", "eve@example.com"):
        assert email not in body
    totals = {s["name"]: s["total"] for s in response.json()["result"]["series"]}
    assert totals["sign-ins"] == 2
    assert reader.post("/api/access/activity").status_code in {403, 405}


@pytest.mark.usefixtures("on_login_host")
@pytest.mark.parametrize(
    "query", ["period=%00", "period=", "period=hour&period=day", "x=%ED%A0%80"]
)
def test_the_api_answers_a_bad_period_with_400_or_reads_it(root, query):
    response = token_client(root).get("/api/access/activity", QUERY_STRING=query)
    assert response.status_code in {200, 400}
    if response.status_code == 400:
        assert response.json()["success"] is False


@pytest.mark.usefixtures("on_login_host")
def test_values_from_requests_are_text_on_the_dashboard(client, root):
    hostile = '/"><script>alert(1)</script><svg onload=alert(2)>'
    record_decision(
        decision="deny", application="Wiki", path=hostile, origin="https://x.test/<b>", ip=""
    )
    flush_activity()
    client.force_login(root)
    body = client.get(reverse("admin:identity_activity"), {"period": "hour"}).content.decode()
    assert "<script>alert" not in body
    assert "<svg onload" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    # The bar's link asks for that very value, encoded.
    assert "q=%2F%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E" in body
