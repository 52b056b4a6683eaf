"""System checks for dangerous or self-defeating configuration stored in the database.

They read the database, so they carry the `database` tag: `manage.py check --database default`
(and `migrate`) runs them, a plain `check` does not. Missing tables (before the first migrate) mean
there is nothing to check yet, never a crash.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Tags, register
from django.core.checks import Warning as CheckWarning
from django.db import DatabaseError

from policies.matching import ApplicationIndex, HostPathPattern, PatternError, compile_pattern
from policies.models import Application, Policy


@register(Tags.security, Tags.database)
def check_policies(
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """Warn about stored applications and policies that let anyone in or cannot work."""
    if not databases:
        return []
    try:
        applications = list(Application.objects.prefetch_related("policies"))
    except DatabaseError:
        return []  # tables not created yet: nothing to check
    messages: list[CheckMessage] = []
    for application in applications:
        messages.extend(_application_warnings(application))
        for policy in application.policies.all():
            messages.extend(_policy_warnings(application, policy))
    messages.extend(_overlap_warnings(applications))
    return messages


@register(Tags.security, deploy=True)
def check_allowed_hosts_against_whole_hosts(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Warn when ALLOWED_HOSTS accepts hosts (wildcards, IP addresses) beyond the ones served.

    Django serves every view on every host it accepts. Through such a host, the views a
    whole-host application protects are refused `421` by the gate, but an exact list of the
    hosts served leaves nothing to refuse.
    """
    broad = [entry for entry in settings.ALLOWED_HOSTS if _is_broad_host_entry(entry)]
    if not broad:
        return []
    try:
        whole_hosts = [
            (application, pattern)
            for application, pattern in _patterns(Application.objects.all())
            if not pattern.path
        ]
    except DatabaseError:
        return []  # tables not created yet: nothing to check
    return [
        CheckWarning(
            f"ALLOWED_HOSTS accepts {entry!r}, through which Django would serve the views that "
            f'application "{application.name}" protects on the whole host {pattern.host}.',
            hint="The gate refuses those requests (421 Misdirected Request); list only the host "
            "names you serve in ALLOWED_HOSTS, so they never reach the project at all.",
            obj=application,
            id="policies.W006",
        )
        for entry in broad
        for application, pattern in whole_hosts
        if pattern.host != entry
    ]


def _is_broad_host_entry(entry: str) -> bool:
    if entry == "*" or entry.startswith("."):
        return True
    try:
        ipaddress.ip_address(entry.strip("[]"))
    except ValueError:
        return False
    return True


def _patterns(applications: Iterable[Application]) -> Iterator[tuple[Application, HostPathPattern]]:
    """Every application's compiled patterns (`domain` and `destinations`)."""
    for application in applications:
        destinations = (
            application.destinations if isinstance(application.destinations, list) else []
        )
        for text in [application.domain, *destinations]:
            try:
                yield application, compile_pattern(str(text))
            except PatternError:
                continue  # validation refuses it; the snapshot reports it


def _application_warnings(application: Application) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    cors = application.cors_headers if isinstance(application.cors_headers, dict) else None
    if (
        cors is not None
        and cors.get("allow_credentials") is True
        and application.same_site_cookie_attribute != Application.SameSite.NONE
    ):
        messages.append(
            CheckWarning(
                f'Application "{application.name}" allows credentialed CORS requests, but its '
                f"cookie is SameSite={application.same_site_cookie_attribute}.",
                hint="Browsers do not send that cookie on cross-site fetches; set "
                "same_site_cookie_attribute to none (the cookie is then sent only over HTTPS).",
                obj=application,
                id="policies.W002",
            )
        )
    if application.cors_on_responses and cors is None:
        messages.append(
            CheckWarning(
                f'Application "{application.name}" has cors_on_responses on but no cors_headers.',
                hint="Set cors_headers, or turn cors_on_responses off: there is nothing to add.",
                obj=application,
                id="policies.W004",
            )
        )
    if application.options_preflight_bypass and application.cors_on_responses:
        messages.append(
            CheckWarning(
                f'Application "{application.name}" sends preflights to the view '
                "(options_preflight_bypass) and also has the gate add CORS headers to responses "
                "(cors_on_responses).",
                hint="The view's preflight answer and the gate's response headers may disagree; "
                "let one of them own CORS.",
                obj=application,
                id="policies.W005",
            )
        )
    return messages


def _policy_warnings(application: Application, policy: Policy) -> list[CheckMessage]:
    include = policy.include if isinstance(policy.include, list) else []
    everyone = any(isinstance(rule, dict) and "everyone" in rule for rule in include)
    if policy.decision == Policy.Decision.ALLOW and everyone and not policy.require:
        return [
            CheckWarning(
                f'Policy "{policy.name}" of application "{application.name}" allows everyone.',
                hint="Anyone who can sign in (including any email address with a one-time PIN) "
                "passes. Add a require rule or include specific emails, domains or groups.",
                obj=policy,
                id="policies.W001",
            )
        ]
    return []


def _overlap_warnings(applications: list[Application]) -> list[CheckMessage]:
    entries = [(pattern, application.pk) for application, pattern in _patterns(applications)]
    by_id = {application.pk: application for application in applications}
    return [
        CheckWarning(
            f'Applications "{by_id[first].name}" and "{by_id[second].name}" have equally specific '
            f"patterns that cover the same requests ({detail}).",
            hint=f'"{by_id[first].name}" decides those requests alone; make one pattern more '
            "specific or merge the applications.",
            obj=by_id[second],
            id="policies.W003",
        )
        for first, second, detail in ApplicationIndex(entries).overlaps()
    ]
