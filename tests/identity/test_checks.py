"""System checks on the identity settings."""

import pytest
from django.core import checks

from identity.checks import check_identity_settings, check_installation
from identity.middleware import AccessGateMiddleware


def _ids(messages):
    return [message.id for message in messages]


def test_default_settings_pass():
    assert check_identity_settings() == []


def test_bad_key_rotation_is_an_error(settings):
    settings.ACCESS_KEY_ROTATION = "six weeks"

    assert _ids(check_identity_settings()) == ["identity.E001"]


def test_bad_trusted_proxy_is_an_error(settings):
    settings.ACCESS_TRUSTED_PROXIES = ["10.0.0.0/33"]

    assert _ids(check_identity_settings()) == ["identity.E001"]


def test_team_domain_with_a_path_is_an_error(settings):
    settings.ACCESS_TEAM_DOMAIN = "access.example.com/login"

    assert _ids(check_identity_settings()) == ["identity.E002"]


# The login host names itself in every login URL and in its tokens' issuer as written here: a
# spelling a browser does not write (it drops a trailing dot's twin, the default port, leading
# zeros) would name another host, or send the login page to itself for ever.
@pytest.mark.parametrize(
    "team_domain",
    ["access.example.com.", "access.example.com:443", "access.example.com:08443"]
    + ["access.example.com:0", "access.example.com:65536"],
)
def test_team_domain_in_another_spelling_than_its_canonical_one_is_an_error(settings, team_domain):
    settings.ACCESS_TEAM_DOMAIN = team_domain
    settings.ALLOWED_HOSTS = [".example.com"]

    messages = check_identity_settings()

    assert _ids(messages) == ["identity.E002"]
    assert messages[0].msg == (
        f"ACCESS_TEAM_DOMAIN {team_domain!r} is not a host name in the form browsers write it."
    )


def test_team_domain_outside_allowed_hosts_is_a_warning(settings):
    settings.ACCESS_TEAM_DOMAIN = "access.example.com"
    settings.ALLOWED_HOSTS = ["app.example.com"]

    assert _ids(check_identity_settings()) == ["identity.W001"]


def test_team_domain_with_port_inside_allowed_hosts_passes(settings):
    settings.ACCESS_TEAM_DOMAIN = "access.example.com:8443"
    settings.ALLOWED_HOSTS = [".example.com"]

    assert check_identity_settings() == []


def test_slow_version_checks_are_a_warning(settings):
    settings.ACCESS_VERSION_CHECK_INTERVAL = 5

    assert _ids(check_identity_settings()) == ["identity.W002"]


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("ACCESS_THROTTLE_IPV6_PREFIX", 65),
        ("ACCESS_THROTTLE_IPV6_PREFIX", 31),
        ("ACCESS_THROTTLE_IPV6_PREFIX", "56"),
        ("ACCESS_PIN_FAILURES_PER_ADDRESS", 0),
        ("ACCESS_PIN_FAILURES_PER_APPLICATION", -1),
        ("ACCESS_PIN_FAILURES_OVERALL", True),
        ("ACCESS_PIN_FAILURES_OVERALL", 2.5),
    ],
)
def test_a_bad_throttle_setting_is_an_error(settings, setting, value):
    setattr(settings, setting, value)

    messages = check_identity_settings()

    assert _ids(messages) == ["identity.E001"]
    assert setting in messages[0].msg


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("ACCESS_THROTTLE_IPV6_PREFIX", 32),
        ("ACCESS_THROTTLE_IPV6_PREFIX", 64),
        ("ACCESS_PIN_FAILURES_PER_ADDRESS", 1),
    ],
)
def test_throttle_settings_at_their_bounds_pass(settings, setting, value):
    setattr(settings, setting, value)

    assert check_identity_settings() == []


def test_a_per_application_budget_above_the_overall_one_is_a_warning(settings):
    settings.ACCESS_PIN_FAILURES_PER_APPLICATION = 50
    settings.ACCESS_PIN_FAILURES_OVERALL = 40

    assert _ids(check_identity_settings()) == ["identity.W003"]


def test_the_app_launcher_without_a_team_domain_is_a_warning(settings):
    settings.ACCESS_APP_LAUNCHER = True
    settings.ACCESS_TEAM_DOMAIN = ""

    assert _ids(check_identity_settings()) == ["identity.W004"]


def test_the_app_launcher_with_a_team_domain_passes(settings):
    settings.ACCESS_APP_LAUNCHER = True
    settings.ACCESS_TEAM_DOMAIN = "access.localhost"
    settings.ALLOWED_HOSTS = ["access.localhost"]

    assert check_identity_settings() == []


def test_equal_budgets_pass(settings):
    settings.ACCESS_PIN_FAILURES_PER_APPLICATION = 40
    settings.ACCESS_PIN_FAILURES_OVERALL = 40

    assert check_identity_settings() == []


# Installation into a site's own project: the gate middleware, its place, the sign-in URLs.

GATE = "identity.middleware.AccessGateMiddleware"
SESSIONS = "django.contrib.sessions.middleware.SessionMiddleware"
AUTHENTICATION = "django.contrib.auth.middleware.AuthenticationMiddleware"
USER_MIDDLEWARE = "identity.users.AccessUserMiddleware"
USER_BACKEND = "identity.users.AccessUserBackend"


def _without(middleware, *paths):
    return [entry for entry in middleware if entry not in paths]


def _after(middleware, moved, anchor):
    """`middleware` with `moved` placed right after `anchor`."""
    kept = _without(middleware, moved)
    index = kept.index(anchor) + 1
    return [*kept[:index], moved, *kept[index:]]


def test_the_project_itself_is_installed_correctly():
    assert check_installation() == []


def test_a_missing_gate_middleware_is_an_error(settings):
    settings.MIDDLEWARE = _without(_without(settings.MIDDLEWARE, GATE), USER_MIDDLEWARE)

    messages = check_installation()

    assert _ids(messages) == ["identity.E003"]
    assert messages[0].level == checks.ERROR


class _SiteGate(AccessGateMiddleware):
    """A site's own subclass of the gate."""


def test_a_subclass_of_the_gate_counts_as_the_gate(settings):
    settings.MIDDLEWARE = [
        "tests.identity.test_checks._SiteGate" if entry == GATE else entry
        for entry in settings.MIDDLEWARE
    ]

    assert check_installation() == []


@pytest.mark.parametrize("anchor", [SESSIONS, AUTHENTICATION])
def test_a_gate_after_sessions_or_authentication_is_an_error(settings, anchor):
    settings.MIDDLEWARE = _after(settings.MIDDLEWARE, GATE, anchor)

    assert _ids(check_installation()) == ["identity.E004"]


def test_a_gate_right_before_sessions_passes(settings):
    settings.MIDDLEWARE = [GATE, SESSIONS, AUTHENTICATION]

    assert check_installation() == []


@pytest.mark.parametrize(
    "urlconf",
    ["tests.identity.urlconfs.without_access", "tests.identity.urlconfs.access_under_a_prefix"],
)
def test_sign_in_endpoints_outside_cdn_cgi_access_are_an_error(settings, urlconf):
    settings.ROOT_URLCONF = urlconf

    messages = check_installation()

    assert _ids(messages) == ["identity.E005"]
    assert "/cdn-cgi/access/login" in messages[0].msg


def test_the_user_middleware_after_the_gate_and_authentication_passes(settings):
    settings.MIDDLEWARE = _after(settings.MIDDLEWARE, USER_MIDDLEWARE, AUTHENTICATION)
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, USER_BACKEND]

    assert check_installation() == []


@pytest.mark.parametrize("anchor", [SESSIONS, GATE])
def test_the_user_middleware_before_authentication_is_an_error(settings, anchor):
    settings.MIDDLEWARE = _after(settings.MIDDLEWARE, USER_MIDDLEWARE, anchor)
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, USER_BACKEND]

    assert _ids(check_installation()) == ["identity.E006"]


def test_the_user_middleware_without_the_gate_is_an_error(settings):
    settings.MIDDLEWARE = _after(
        _without(settings.MIDDLEWARE, GATE), USER_MIDDLEWARE, AUTHENTICATION
    )
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, USER_BACKEND]

    assert _ids(check_installation()) == ["identity.E003", "identity.E006"]


def test_the_user_middleware_without_its_backend_is_an_error(settings):
    settings.MIDDLEWARE = _after(settings.MIDDLEWARE, USER_MIDDLEWARE, AUTHENTICATION)
    settings.AUTHENTICATION_BACKENDS = [
        path for path in settings.AUTHENTICATION_BACKENDS if path != USER_BACKEND
    ]

    assert _ids(check_installation()) == ["identity.E007"]


def test_checks_run_with_the_framework(settings):
    settings.MIDDLEWARE = _without(settings.MIDDLEWARE, GATE)

    # No database: Django 6.1 would otherwise ask every connection what its fields support.
    assert "identity.E003" in _ids(checks.run_checks(databases=[]))
