"""System checks for dangerous or self-defeating configuration."""

import pytest
from django.core.checks import run_checks
from django.db import DatabaseError

from policies.checks import check_allowed_hosts_against_whole_hosts, check_policies
from tests.factories import ApplicationFactory, PolicyFactory

pytestmark = pytest.mark.django_db

CREDENTIALED = {
    "allowed_origins": ["https://web.example.com"],
    "allowed_methods": ["GET"],
    "allow_credentials": True,
}


def ids() -> list[str]:
    return sorted(message.id for message in check_policies(databases=["default"]))


def entered(**fields):
    """An application with a policy that lets its people in (so only what is tested warns)."""
    return PolicyFactory(application=ApplicationFactory(**fields)).application


def test_clean_configuration_has_no_warnings():
    PolicyFactory(include=[{"email_domain": {"domain": "example.com"}}])
    assert ids() == []


def test_allow_everyone_with_nothing_required_warns():
    PolicyFactory(include=[{"everyone": {}}])
    assert ids() == ["policies.W001"]


def test_allow_everyone_with_a_requirement_is_fine():
    PolicyFactory(include=[{"everyone": {}}], require=[{"ip": {"ip": "10.0.0.0/8"}}])
    assert ids() == []


def test_credentialed_cors_without_samesite_none_warns():
    entered(cors_headers=CREDENTIALED, same_site_cookie_attribute="lax", cors_on_responses=True)
    assert ids() == ["policies.W002"]


def test_credentialed_cors_with_samesite_none_is_fine():
    entered(cors_headers=CREDENTIALED, same_site_cookie_attribute="none", cors_on_responses=True)
    assert ids() == []


def test_equally_specific_overlapping_applications_warn():
    entered(domain="*.example.com/api")
    entered(domain="*.example.com/api", destinations=[])
    assert ids() == ["policies.W003"]


def test_more_specific_application_does_not_warn():
    entered(domain="example.com")
    entered(domain="example.com/admin")
    assert ids() == []


def test_cors_on_responses_without_cors_headers_warns():
    entered(cors_on_responses=True)
    assert ids() == ["policies.W004"]


def test_preflight_bypass_with_cors_on_responses_warns():
    entered(cors_on_responses=True, options_preflight_bypass=True, cors_headers=None)
    assert ids() == ["policies.W004", "policies.W005"]


def test_checks_skip_without_a_database():
    PolicyFactory(include=[{"everyone": {}}])
    assert check_policies(databases=None) == []


def test_the_framework_runs_them_only_for_a_named_database():
    PolicyFactory(include=[{"everyone": {}}])
    assert "policies.W001" not in [message.id for message in run_checks()]
    assert "policies.W001" in [message.id for message in run_checks(databases=["default"])]


def test_missing_tables_do_not_crash(monkeypatch):
    def broken(*args, **kwargs):
        raise DatabaseError("no such table: policies_application")

    monkeypatch.setattr("policies.checks.Application.objects.prefetch_related", broken)
    assert check_policies(databases=["default"]) == []


def test_warnings_carry_hints():
    PolicyFactory(include=[{"everyone": {}}])
    (message,) = check_policies(databases=["default"])
    assert "require" in message.hint


def _host_warnings(allowed_hosts, settings):
    settings.ALLOWED_HOSTS = allowed_hosts
    return [
        (message.id, message.msg)
        for message in check_allowed_hosts_against_whole_hosts()
        if message.id == "policies.W006"
    ]


@pytest.mark.parametrize("entry", ["*", ".example.com", "10.0.0.5", "[::1]"])
def test_broad_allowed_hosts_beside_a_whole_host_application_warn(entry, settings):
    ApplicationFactory(name="Wiki", domain="wiki.example.com")

    assert _host_warnings(["wiki.example.com", entry], settings) == [
        (
            "policies.W006",
            f"ALLOWED_HOSTS accepts {entry!r}, through which Django would serve the views that "
            'application "Wiki" protects on the whole host wiki.example.com.',
        )
    ]


def test_exact_allowed_hosts_do_not_warn(settings):
    ApplicationFactory(name="Wiki", domain="wiki.example.com")

    assert _host_warnings(["wiki.example.com", "access.example.com"], settings) == []


def test_broad_allowed_hosts_without_a_whole_host_application_do_not_warn(settings):
    ApplicationFactory(name="Wiki", domain="wiki.example.com/docs")

    assert _host_warnings(["*"], settings) == []


def test_an_ip_address_that_is_itself_the_whole_host_does_not_warn(settings):
    ApplicationFactory(name="Box", domain="10.0.0.5")

    assert _host_warnings(["10.0.0.5"], settings) == []


def test_a_whole_host_destination_counts_too(settings):
    ApplicationFactory(name="Wiki", domain="wiki.example.com/docs", destinations=["w.example.com"])

    assert [id_ for id_, _ in _host_warnings(["*"], settings)] == ["policies.W006"]


def test_the_allowed_hosts_check_runs_with_check_deploy_only():
    from django.core.checks import registry

    assert check_allowed_hosts_against_whole_hosts in registry.registry.get_checks(
        include_deployment_checks=True
    )
    assert check_allowed_hosts_against_whole_hosts not in registry.registry.get_checks(
        include_deployment_checks=False
    )
