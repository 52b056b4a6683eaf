"""The admin's lists and the activity pages answer a query they cannot read with a 400 (or
their own fallback), never a 500: what a mistyped or hostile link sends."""

import pytest
from django.urls import reverse

from common.adminqueries import unreadable_query
from identity.models import ActivityCount, AuthEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("on_login_host")]

LISTS = [
    "admin:identity_activitycount_changelist",
    "admin:identity_authevent_changelist",
    "admin:identity_accesssession_changelist",
    "admin:common_auditentry_changelist",
    "admin:common_apitoken_changelist",
    "admin:policies_application_changelist",
]
PAGES = ["admin:identity_activity", "admin:identity_lockouts", *LISTS]
# Raw query strings, as a link or a hostile client sends them.
REFUSED = [
    "dimension__exact=%00",
    "kind__exact=sign_in%00",
    "channel__exact=%00admin",
    "object_id=%00",
    "aud=%00",
    "q%00=x",
    "q=%00",
    "created_at__year=99999999999",
    "created_at__year=2026&created_at__month=99999999999",
    "bucket__year=2026&bucket__month=1&bucket__day=1e9",
    "issued_at__year=-1",
]
READ_OR_FALLBACK = [
    "period=week&period=year",
    "q=%ED%A0%80",
    "q=%FF%FE",
    "bucket__gte=garbage",
    "created_at__gte=2026-13-45",
    "bucket__gte=9999-12-31+23%3A59%3A59%2B0000",
    "o=99",
    "o=x.y",
    "p=-1",
    "p=" + "9" * 30,
    "nonexistent__field=1",
    "created_at__year=2026&created_at__month=2&created_at__day=31",
]


@pytest.fixture
def data():
    ActivityCount.objects.create(
        bucket="2026-01-01T00:00:00Z", dimension="decision", value="allow", count=3
    )
    AuthEvent.objects.create(kind=AuthEvent.Kind.SIGN_IN, email="ann@example.com")


@pytest.mark.parametrize("page", LISTS)
@pytest.mark.parametrize("query", REFUSED)
def test_a_list_refuses_a_query_it_cannot_read(admin_client, data, page, query):
    response = admin_client.get(reverse(page), QUERY_STRING=query)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert b"must" in response.content


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("query", READ_OR_FALLBACK)
def test_other_odd_queries_are_read_or_fall_back(admin_client, data, page, query):
    response = admin_client.get(reverse(page), QUERY_STRING=query)
    # 200: read (the dashboard shows the day for an unknown period); 302: Django's "?e=1".
    assert response.status_code in {200, 302}


@pytest.mark.parametrize("query", ["period=%00", "period=hour%00", "period=%ED%A0%80"])
def test_the_dashboard_falls_back_to_the_day_for_a_period_it_cannot_read(admin_client, data, query):
    response = admin_client.get(reverse("admin:identity_activity"), QUERY_STRING=query)
    assert response.status_code == 200
    assert response.context["period"] == "day"


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ({"q": ["ok"], "created_at__year": ["2026"]}, None),
        ({"q": ["a\x00"]}, "The query parameter 'q' must not contain NUL characters."),
        (
            {"b__day": ["12345"]},
            "The query parameter 'b__day' must be a number of at most 4 digits.",
        ),
        (
            {"b__month": ["٣"]},
            "The query parameter 'b__month' must be a number of at most 4 digits.",
        ),
        (
            {"b__year": ["2026", "x"]},
            "The query parameter 'b__year' must be a number of at most 4 digits.",
        ),
    ],
)
def test_unreadable_query_says_why(query, problem):
    from django.http import QueryDict

    parsed = QueryDict(mutable=True)
    for name, values in query.items():
        parsed.setlist(name, values)
    assert unreadable_query(parsed) == problem
