"""System checks on the identity settings."""

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
