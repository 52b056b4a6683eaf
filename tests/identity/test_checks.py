"""System checks on the identity settings."""

import pytest

from identity.checks import check_identity_settings


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


def test_equal_budgets_pass(settings):
    settings.ACCESS_PIN_FAILURES_PER_APPLICATION = 40
    settings.ACCESS_PIN_FAILURES_OVERALL = 40

    assert check_identity_settings() == []
