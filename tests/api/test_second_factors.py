"""`/api/access/second_factors`: who has which factors, and resetting a person's."""

from datetime import timedelta

import pytest
from django.utils import timezone

from identity.factors import services
from identity.models import AccessSession, RecoveryCode, SecondFactor
from identity.sessions import session_create
from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db

FACTORS = "/api/access/second_factors"
RESET = "/api/access/second_factors/reset"


def _app_of(email):
    secret = services.totp_begin(email=email)
    SecondFactor.objects.filter(email=email).update(confirmed_at=timezone.now())
    services.recovery_codes_issue(email=email)
    return secret


def test_the_list_shows_who_has_which_factor_and_no_secret(api):
    secret = _app_of("ann@example.com")
    _app_of("bob@example.com")
    services.totp_begin(email="eve@example.com")  # being set up: nobody's factor yet

    response = api.get(FACTORS)

    assert response.status_code == 200
    result = response.json()["result"]
    assert [(item["email"], item["kind"], item["method"]) for item in result] == [
        ("ann@example.com", "totp", "otp"),
        ("bob@example.com", "totp", "otp"),
    ]
    assert set(result[0]) == {"id", "email", "kind", "name", "method", "created_at", "last_used_at"}
    stored = SecondFactor.objects.get(email="ann@example.com").secret
    assert secret not in response.content.decode()
    assert stored not in response.content.decode()


def test_the_list_filters_by_address(api):
    _app_of("ann@example.com")
    _app_of("bob@example.com")
    result = api.get(FACTORS, {"email": "ANN@example.com"}).json()["result"]
    assert [item["email"] for item in result] == ["ann@example.com"]


def test_a_reset_removes_the_factors_and_ends_the_sign_ins(api):
    _app_of("ann@example.com")
    _app_of("bob@example.com")
    now = timezone.now()
    session = session_create(
        email="ann@example.com",
        application=None,
        identity_nonce="nonce-ann",
        login_method="One-time PIN",
        issued_at=now,
        expires_at=now + timedelta(hours=1),
    )

    response = api.post(RESET, {"email": "Ann@example.com"}, format="json")

    assert response.status_code == 200
    assert response.json()["result"] == {"email": "ann@example.com", "factors_removed": 1}
    assert not SecondFactor.objects.filter(email="ann@example.com").exists()
    assert not RecoveryCode.objects.filter(email="ann@example.com").exists()
    session.refresh_from_db()
    assert session.revoked_at is not None
    assert SecondFactor.objects.filter(email="bob@example.com").exists()


def test_a_reset_needs_an_address(api):
    response = api.post(RESET, {}, format="json")
    assert response.status_code == 400


def test_a_reset_needs_the_delete_permission(make_user):
    _app_of("ann@example.com")
    viewer = token_client(make_user("identity.view_secondfactor", is_staff=True))
    assert viewer.get(FACTORS).status_code == 200
    assert viewer.post(RESET, {"email": "ann@example.com"}, format="json").status_code == 403
    assert SecondFactor.objects.filter(email="ann@example.com").exists()
    resetter = token_client(
        make_user("identity.view_secondfactor", "identity.delete_secondfactor", is_staff=True)
    )
    assert resetter.post(RESET, {"email": "ann@example.com"}, format="json").status_code == 200


def test_a_read_only_token_cannot_reset(admin_user):
    _app_of("ann@example.com")
    client = token_client(admin_user, read_only=True)
    assert client.post(RESET, {"email": "ann@example.com"}, format="json").status_code == 403
    assert AccessSession.objects.count() == 0
    assert SecondFactor.objects.filter(email="ann@example.com").exists()
