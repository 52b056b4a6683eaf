"""System checks for dangerous, self-defeating or refused configuration stored in the database.

They read the database, so they carry the `database` tag: `manage.py check --database default`
(and `migrate`) runs them, a plain `check` does not. `manage.py check --deploy` also runs the
ones about the deployment (`policies.W006`) and the stored configuration validation refuses
(`policies.E001`, `policies.E002`). Missing tables (before the first migrate) mean there is
nothing to check yet, never a crash.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Tags, register
from django.core.checks import Error as CheckError
from django.core.checks import Warning as CheckWarning
from django.db import DatabaseError

from policies.catalog import Catalog
from policies.matching import ApplicationIndex, HostPathPattern, PatternError, compile_pattern
from policies.models import Application, Policy
from policies.selectors import (
    stored_application_errors,
    stored_application_warnings,
    stored_group_fields,
)
from policies.snapshot import SnapshotError, build_snapshot
from policies.warnings import ConfigWarning


@register(Tags.security, Tags.database)
def check_policies(
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """Warn about stored applications and policies that let anyone in or cannot work
    (`policies.warnings`), and about applications that overlap."""
    if not databases:
        return []
    try:
        applications = list(Application.objects.prefetch_related("policies"))
    except DatabaseError:
        return []  # tables not created yet: nothing to check
    groups = stored_group_fields()
    messages: list[CheckMessage] = [
        CheckWarning(
            warning.message,
            hint=warning.hint or None,
            obj=_warned_object(application, warning),
            id=warning.id,
        )
        for application in applications
        for warning in stored_application_warnings(application, groups=groups)
    ]
    messages.extend(_overlap_warnings(applications))
    return messages


REFUSED_ROW_HINT = (
    "Validation refuses this stored value (saved before the rule was made stricter, or edited "
    "in the database). Correct it in the admin, the API or an access_apply file, which check "
    "it as they save; while the gate cannot compile a stored value it answers 503 to every "
    "gated request."
)
UNCOMPILABLE_HINT = (
    "The gate answers 503 to every gated request until the row is corrected (the log names it "
    "too, as accessproject.snapshot's error)."
)


@register(Tags.security, Tags.database)
def check_stored_configuration(
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """Report each stored application or policy that validation refuses today (`policies.E001`,
    one error per field path), and a stored configuration the snapshot cannot compile for any
    other reason (`policies.E002`), so that an operator learns of it before the gate fails
    closed with 503."""
    if not databases:
        return []
    global _reported_for
    _reported_for = databases
    return _stored_configuration_errors()


# The `databases` that `check_stored_configuration` last reported for. Django passes one
# `databases` object to every check of a run, and runs the registered checks before the
# deployment ones, so `check_stored_configuration_for_deploy` finds its own run's object here
# when the database check has already reported in it.
_reported_for: object = object()


@register(Tags.security, deploy=True)
def check_stored_configuration_for_deploy(
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """`check_stored_configuration` for `manage.py check --deploy`, when that check has not
    reported in the same run.

    Whether it ran cannot be read from `databases` alone: Django 5.2 passes None without
    `--database` (and runs the database check, which then reads nothing), while Django 6 leaves
    the database-tagged checks out and passes every alias to the others, as it does with
    `--database`. So the database check records the object it reported for, and this one
    reports unless it is handed that same object."""
    if databases is not None and databases is _reported_for:
        return []
    return _stored_configuration_errors()


def _stored_configuration_errors() -> list[CheckMessage]:
    try:
        applications = list(
            Application.objects.order_by("name", "pk").prefetch_related("allowed_idps")
        )
        catalog = Catalog.from_database()
    except DatabaseError:
        return []  # tables not created yet: nothing to check
    messages: list[CheckMessage] = [
        CheckError(
            f'Application "{application.name}": {path}: {message}',
            hint=REFUSED_ROW_HINT,
            obj=application,
            id="policies.E001",
        )
        for application in applications
        for path, texts in stored_application_errors(application, catalog=catalog).items()
        for message in texts
    ]
    if messages:
        return messages  # these first: the compiler would name only one of them
    try:
        build_snapshot(0)
    except SnapshotError as error:
        return [
            CheckError(
                f"The stored configuration cannot be compiled: {error}",
                hint=UNCOMPILABLE_HINT,
                id="policies.E002",
            )
        ]
    return []


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


def _warned_object(application: Application, warning: ConfigWarning) -> Application | Policy:
    """The policy a warning's path names (`policies[1]...`), else the application."""
    if warning.path.startswith("policies["):
        index = int(warning.path[len("policies[") :].split("]")[0])
        policies = list(application.policies.order_by("precedence"))
        if index < len(policies):
            return policies[index]
    return application


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
