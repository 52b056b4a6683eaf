"""`/cdn-cgi/access/get-identity`: the identity of a valid token, 401 otherwise."""

from datetime import timedelta

import pytest

from identity import sessions
from identity.tokens import issue_token
from policies.models import IdentityProvider
from tests.factories import AccessGroupFactory, ApplicationFactory, ServiceTokenFactory

pytestmark = pytest.mark.django_db

URL = "/cdn-cgi/access/get-identity"
APP_HOST = "app.example.com"
LOGIN_HOST = "access.example.com"


@pytest.fixture(autouse=True)
def _hosts(settings):
    settings.ALLOWED_HOSTS = [".example.com", ".example.net"]
    settings.ACCESS_TEAM_DOMAIN = ""


@pytest.fixture
def app():
    application = ApplicationFactory(domain=APP_HOST)
    AccessGroupFactory(name="staff", include=[{"email_domain": {"domain": "example.com"}}])
    AccessGroupFactory(name="partners", include=[{"email_domain": {"domain": "partner.org"}}])
    return application


def _token(*, aud, token_type="app", issuer=f"http://{APP_HOST}", **overrides):
    fields = {
        "token_type": token_type,
        "audiences": [aud] if aud else [],
        "email": "ada@example.com",
        "subject": "user-7",
        "identity_nonce": "nonce-1",
        "lifetime": timedelta(hours=1),
        "issuer": issuer,
        "country": "PT",
        "extra": {"login_method": "Password", "amr": ["pwd"]},
    }
    fields.update(overrides)
    return issue_token(**fields)


def _get(client, host=APP_HOST, cookie=None, **headers):
    if cookie is not None:
        headers["HTTP_COOKIE"] = cookie
    return client.get(URL, HTTP_HOST=host, **headers)


def test_no_token_is_401(client, app, clock):
    response = _get(client)

    assert response.status_code == 401
    assert response.json() == {"err": "no valid Access token"}


def test_app_cookie_gives_the_identity(client, app, clock):
    response = _get(client, cookie=f"CF_Authorization={_token(aud=app.aud)}")

    assert response.status_code == 200
    password = IdentityProvider.objects.get(name="Password")
    assert response.json() == {
        "email": "ada@example.com",
        "idp": {"id": str(password.pk), "name": "Password", "type": "password"},
        "user_uuid": "user-7",
        "id": "user-7",
        "iat": int(clock.now.timestamp()),
        "ip": "127.0.0.1",
        "country": "PT",
        "geo": {"country": "PT"},
        "identity_nonce": "nonce-1",
        "groups": ["staff"],
        "amr": ["pwd"],
    }


def test_identity_is_never_cached(client, app, clock):
    response = _get(client, cookie=f"CF_Authorization={_token(aud=app.aud)}")

    assert "no-store" in response["Cache-Control"]


def test_app_token_of_an_application_on_another_host_is_401(client, app, clock):
    other = ApplicationFactory(domain="other.example.com")

    response = _get(client, cookie=f"CF_Authorization={_token(aud=other.aud)}")

    assert response.status_code == 401


def test_forged_first_cookie_does_not_shadow_a_valid_second_one(client, app, clock):
    cookie = f"CF_Authorization=forged.token.value; CF_Authorization={_token(aud=app.aud)}"

    response = _get(client, cookie=cookie)

    assert response.status_code == 200
    assert response.json()["email"] == "ada@example.com"


def test_first_verifying_cookie_wins(client, app, clock):
    first = _token(aud=app.aud, email="first@example.com")
    second = _token(aud=app.aud, email="second@example.com")

    response = _get(client, cookie=f"CF_Authorization={first}; CF_Authorization={second}")

    assert response.json()["email"] == "first@example.com"


def test_cookie_for_another_host_is_skipped_for_the_next_one(client, app, clock):
    other = ApplicationFactory(domain="other.example.com")
    foreign = _token(aud=other.aud, email="foreign@example.com")
    mine = _token(aud=app.aud, email="mine@example.com")

    response = _get(client, cookie=f"CF_Authorization={foreign}; CF_Authorization={mine}")

    assert response.json()["email"] == "mine@example.com"


def test_org_cookie_on_the_login_host_gives_the_identity(client, app, clock, settings):
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST
    token = _token(aud=None, token_type="org", issuer=f"http://{LOGIN_HOST}")

    response = _get(client, host=LOGIN_HOST, cookie=f"CF_Authorization={token}")

    assert response.status_code == 200
    assert response.json()["identity_nonce"] == "nonce-1"


def test_org_cookie_on_an_application_host_is_401(client, app, clock, settings):
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST
    token = _token(aud=None, token_type="org", issuer=f"http://{LOGIN_HOST}")

    response = _get(client, cookie=f"CF_Authorization={token}")

    assert response.status_code == 401


def test_app_token_with_the_team_domain_issuer_is_accepted(client, app, clock, settings):
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST
    token = _token(aud=app.aud, issuer=f"http://{LOGIN_HOST}")

    assert _get(client, cookie=f"CF_Authorization={token}").status_code == 200


def test_app_token_with_another_issuer_is_401(client, app, clock):
    token = _token(aud=app.aud, issuer="https://evil.example.net")

    assert _get(client, cookie=f"CF_Authorization={token}").status_code == 401


def test_token_header_gives_the_identity(client, app, clock):
    response = _get(client, HTTP_CF_ACCESS_TOKEN=_token(aud=app.aud))

    assert response.status_code == 200
    assert response.json()["email"] == "ada@example.com"


def test_cookie_is_preferred_to_the_header(client, app, clock):
    cookie = f"CF_Authorization={_token(aud=app.aud, email='cookie@example.com')}"
    header = _token(aud=app.aud, email="header@example.com")

    response = _get(client, cookie=cookie, HTTP_CF_ACCESS_TOKEN=header)

    assert response.json()["email"] == "cookie@example.com"


def test_expired_token_is_401(client, app, clock):
    token = _token(aud=app.aud)
    clock.advance(timedelta(hours=2))

    assert _get(client, cookie=f"CF_Authorization={token}").status_code == 401


def test_revoked_token_is_401(client, app, clock):
    token = _token(aud=app.aud)
    session = sessions.session_create(
        email="ada@example.com",
        application=None,
        identity_nonce="nonce-1",
        login_method="Password",
        issued_at=clock.now,
        expires_at=clock.now + timedelta(hours=1),
    )
    sessions.session_revoke(session=session)

    assert _get(client, cookie=f"CF_Authorization={token}").status_code == 401


def test_groups_follow_the_email(client, app, clock):
    token = _token(aud=app.aud, email="pat@partner.org")

    response = _get(client, cookie=f"CF_Authorization={token}")

    assert response.json()["groups"] == ["partners"]


def test_country_comes_from_the_trusted_header_when_configured(client, app, clock, settings):
    settings.ACCESS_COUNTRY_HEADER = "CF-IPCountry"
    settings.ACCESS_TRUSTED_PROXIES = []

    response = _get(
        client, cookie=f"CF_Authorization={_token(aud=app.aud)}", HTTP_CF_IPCOUNTRY="de"
    )

    assert response.json()["country"] == "DE"


def test_service_token_identity(client, app, clock):
    service = ServiceTokenFactory(name="ci", client_id="c" * 32 + ".access")
    token = _token(
        aud=app.aud,
        email="",
        subject="",
        identity_nonce="",
        common_name=service.client_id,
        extra=None,
    )

    body = _get(client, cookie=f"CF_Authorization={token}").json()

    assert (body["email"], body["common_name"]) == ("", service.client_id)
    assert (body["service_token_id"], body["service_token_status"]) == (str(service.pk), True)
    assert body["idp"] == {"id": "", "type": "service_token"}


def test_get_identity_refuses_other_methods(client, app, clock):
    assert client.post(URL, HTTP_HOST=APP_HOST).status_code == 405


def test_the_identity_provider_groups_and_custom_claims_come_from_the_token(
    client, app, clock, django_assert_num_queries
):
    token = _token(
        aud=app.aud,
        extra={
            "login_method": "Corp",
            "amr": ["mfa", "pwd"],
            "idp": {"id": "41", "type": "oidc"},
            "groups": ["admins"],
            "custom": {"department": "ops"},
        },
    )
    _get(client, cookie=f"CF_Authorization={token}")  # in-memory states built: steady state
    with django_assert_num_queries(0):
        response = _get(client, cookie=f"CF_Authorization={token}")

    body = response.json()
    assert body["idp"] == {"id": "41", "name": "Corp", "type": "oidc"}
    assert body["idp_groups"] == ["admins"]
    assert body["custom"] == {"department": "ops"}
    assert body["amr"] == ["mfa", "pwd"]
