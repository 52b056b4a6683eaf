"""The compiled, in-memory configuration that serves every gated request without SQL.

`build_snapshot` reads every application, policy, group, service token and identity provider once
and compiles them into the frozen values of the pure core. `get_snapshot()` keeps the result until
the policies' version moves (`common.versioning.VersionedState`), then rebuilds it on a thread
of its own while the previous snapshot keeps serving: a change made by any process is enforced
within a second, a logout or a key rotation rebuilds nothing here, and in steady state a decision
makes no query.

A stored row that cannot be compiled (edited by hand in the database, say) makes the build raise
`SnapshotError` after logging which row it was: the gate then answers 503. Skipping the row could
silently widen access (a skipped deny policy, a skipped require rule), so there is no partial
snapshot.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from pydantic import ValidationError

from common.credentials import verify_secret
from common.encryption import Undecryptable
from common.versioning import POLICIES, VersionedState
from policies.approvals import approval_groups_from_data
from policies.cors import CorsPolicy
from policies.decision import Action, CompiledPolicy, Verdict, decide, evaluation_order
from policies.durations import parse_duration
from policies.matching import ApplicationIndex, HostPathPattern, compile_pattern
from policies.models import (
    APPLICATION_COLUMNS,
    DEFAULT_PURPOSE_PROMPT,
    FOREVER,
    POLICY_FIELDS,
    AccessGroup,
    Application,
    IdentityProvider,
    Policy,
    ServiceToken,
)
from policies.providers import ProviderConfig, decrypt_secrets, parse_config
from policies.rules import CompiledGroup, Subject, compile_rules

logger = logging.getLogger("accessproject.snapshot")

T = TypeVar("T")


PATH_INDEX_HOST = "paths.invalid"


class SnapshotError(Exception):
    """The stored configuration could not be compiled; protected paths must fail closed."""


@dataclass(frozen=True, slots=True)
class CompiledApplication:
    """An application as the gate needs it, with its policies in evaluation order."""

    id: int
    aud: str
    name: str
    domain: str
    destinations: tuple[str, ...]
    session_duration: timedelta
    same_site_cookie_attribute: str
    http_only_cookie_attribute: bool
    enable_binding_cookie: bool
    options_preflight_bypass: bool
    cors: CorsPolicy | None
    cors_on_responses: bool
    unauthenticated_401: bool
    custom_deny_message: str  # never empty: the default text is filled in when compiled
    custom_deny_url: str
    custom_non_identity_deny_url: str
    service_auth_401_redirect: bool
    allowed_idps: tuple[str, ...]  # identity provider ids; empty: every provider
    auto_redirect_to_identity: bool
    require_second_factor_enrolment: bool
    policies: tuple[CompiledPolicy, ...]
    app_launcher_visible: bool = True
    logo_url: str = ""

    @property
    def only_service_auth(self) -> bool:
        """Whether a service token is the only way in (no allow policy: a JWT alone cannot pass)."""
        return not any(policy.action is Action.ALLOW for policy in self.policies) and any(
            policy.action is Action.NON_IDENTITY for policy in self.policies
        )


@dataclass(frozen=True, slots=True)
class CompiledServiceToken:
    """A service token's credentials; the previous secret counts until its grace ends."""

    id: int
    name: str
    client_id: str
    secret_hash: str
    expires_at: datetime | None
    previous_secret_hash: str | None = None
    previous_secret_expires_at: datetime | None = None
    # Raised by every rotation: app tokens minted for an earlier secret stop counting.
    secret_version: int = 1

    def secret_hashes(self, now: datetime) -> tuple[str, ...]:
        """The hashes a presented secret may match at `now` (current first)."""
        previous = self.previous_secret_hash
        expires = self.previous_secret_expires_at
        if previous and expires is not None and now < expires:
            return (self.secret_hash, previous)
        return (self.secret_hash,)

    def is_expired(self, now: datetime) -> bool:
        """Whether the token has expired at `now` (never, for a `forever` token)."""
        return self.expires_at is not None and now >= self.expires_at

    def accepts(self, secret: str, *, now: datetime) -> bool:
        """Whether `secret` is valid for this unexpired token at `now` (constant-time compare)."""
        if self.is_expired(now):
            return False
        # Check every hash, so the time taken does not tell which one matched.
        results = [verify_secret(secret, hashed) for hashed in self.secret_hashes(now)]
        return any(results)


@dataclass(frozen=True, slots=True)
class CompiledIdentityProvider:
    """An identity provider as sign-in needs it: its config parsed, its secrets still encrypted
    (decrypted only by the sign-in that uses them, `full_config`)."""

    id: str  # the text of its number, as tokens and rules carry it
    name: str
    type: str
    # None: unusable (its secrets cannot be decrypted after a SECRET_KEY change, or a row
    # edited by hand holds an invalid config).
    config: ProviderConfig | None

    @property
    def usable(self) -> bool:
        return self.config is not None


# How many spellings of hosts with applications a snapshot remembers (`applications_for_host`).
HOSTS_REMEMBERED = 1024


@dataclass(frozen=True)
class Snapshot:
    """Everything the gate decides with, compiled at one configuration version."""

    version: int
    applications: dict[int, CompiledApplication]
    by_aud: dict[str, CompiledApplication]
    index: ApplicationIndex[int]
    groups: dict[str, CompiledGroup]
    service_tokens: dict[str, CompiledServiceToken]
    # By id, in name order.
    identity_providers: dict[str, CompiledIdentityProvider]
    # Every application's patterns with their hosts replaced by one placeholder host (see
    # `protects_path`).
    path_index: ApplicationIndex[int] = field(
        default_factory=lambda: ApplicationIndex([]), repr=False
    )
    _by_host: dict[str, tuple[CompiledApplication, ...]] = field(default_factory=dict, repr=False)
    # The application of type `app_launcher`, whose policies decide who may open the App
    # Launcher; it protects no pattern, so it is in none of the above.
    app_launcher: CompiledApplication | None = None
    # The applications that may have a tile in the App Launcher (`app_launcher_visible`), in
    # name order; who sees which is decided per person, with `decide`.
    launcher_applications: tuple[CompiledApplication, ...] = ()

    def match(self, host: str, path: str) -> tuple[CompiledApplication | None, bool]:
        """The most specific application covering host and path, and whether the path was
        non-canonical (the caller refuses such a request rather than guess)."""
        found = self.index.match(host, path)
        if found is None:
            return None, False
        return self.applications[found.key], found.non_canonical

    def covers_host(self, host: str) -> bool:
        """Whether any application has a pattern on `host`."""
        return bool(self.applications_for_host(host))

    def protects_path(self, path: str) -> bool:
        """Whether some application, on any host, covers `path` (non-canonical readings too).

        Django serves the same views on every host it accepts, so a view an application
        protects through one host must not be reachable, unprotected, through another one: an
        IP address, a wildcard in ALLOWED_HOSTS, or a host whose applications cover other
        paths. A whole-host pattern covers every path, so it counts for every path here.
        """
        return self.path_index.match(PATH_INDEX_HOST, path) is not None

    def provider_named(self, name: str) -> CompiledIdentityProvider | None:
        """The identity provider called `name` (names are unique), or None."""
        for provider in self.identity_providers.values():
            if provider.name == name:
                return provider
        return None

    def decide(
        self, application: CompiledApplication, subject: Subject, *, with_trace: bool = True
    ) -> Verdict:
        """Evaluate an application's policies for `subject` (kept in evaluation order)."""
        return decide(
            application.policies, subject, self.groups, ordered=True, with_trace=with_trace
        )

    def applications_for_host(self, host: str) -> tuple[CompiledApplication, ...]:
        """Every application with a pattern on `host` (they share the host's app cookie)."""
        cached = self._by_host.get(host)
        if cached is not None:
            return cached
        found = tuple(self.applications[key] for key in self.index.keys_for_host(host))
        # Only hosts that have applications are remembered, as the client spelled them; a
        # wildcard pattern covers endless names (and a port or a trailing dot spells one name
        # many ways), so past HOSTS_REMEMBERED the oldest is dropped: made-up Host headers
        # cannot grow this without bound.
        if found:
            by_host = self._by_host
            if len(by_host) >= HOSTS_REMEMBERED:
                with contextlib.suppress(KeyError, RuntimeError, StopIteration):
                    del by_host[next(iter(by_host))]
            by_host[host] = found
        return found


def build_snapshot(version: int) -> Snapshot:
    """Compile the stored configuration in a few queries; raise `SnapshotError` on a bad row.

    Rows are read as plain values (no model instances, no per-row related querysets) and
    patterns are compiled once per distinct text: at 10,000 applications the build is a few
    bulk queries and a loop, cheap enough to run often and off the request path.
    """
    groups = {
        group.name: _compile_row(group, _compile_group) for group in AccessGroup.objects.all()
    }
    policies: dict[int, list[CompiledPolicy]] = {}
    for row in Policy.objects.order_by().values(*_POLICY_COLUMNS):
        compiled_policy = _compile_row(_Row("Policy", row), _compile_policy)
        policies.setdefault(row["application_id"], []).append(compiled_policy)
    providers_by_application: dict[int, list[str]] = {}
    for application_id, provider in Application.allowed_idps.through.objects.values_list(
        "application_id", "identityprovider_id"
    ):
        providers_by_application.setdefault(application_id, []).append(str(provider))
    applications: dict[int, CompiledApplication] = {}
    entries: list[tuple[HostPathPattern, int]] = []
    app_launcher: CompiledApplication | None = None
    for row in Application.objects.order_by().values(*_APPLICATION_COLUMNS):
        pk = row["id"]
        if row["type"] == Application.Type.APP_LAUNCHER:
            app_launcher = _compile_row(
                _Row("Application", row),
                partial(
                    _compile_launcher,
                    policies=policies.get(pk, ()),
                    providers=providers_by_application.get(pk, ()),
                ),
            )
            continue
        compiled, patterns = _compile_row(
            _Row("Application", row),
            partial(
                _compile_application,
                policies=policies.get(pk, ()),
                providers=providers_by_application.get(pk, ()),
            ),
        )
        applications[pk] = compiled
        entries.extend((pattern, pk) for pattern in patterns)
    tokens = {
        token.client_id: _compile_row(token, _compile_service_token)
        for token in ServiceToken.objects.all()
    }
    providers = {
        str(row["id"]): _compile_row(_Row("IdentityProvider", row), _compile_identity_provider)
        for row in IdentityProvider.objects.order_by("name").values(
            "id", "name", "type", "config", "secrets"
        )
    }
    return Snapshot(
        version=version,
        applications=applications,
        by_aud={application.aud: application for application in applications.values()},
        index=ApplicationIndex(entries),
        groups=groups,
        service_tokens=tokens,
        identity_providers=providers,
        path_index=path_index_for(entries),
        app_launcher=app_launcher,
        launcher_applications=tuple(
            sorted(
                (
                    application
                    for application in applications.values()
                    if application.app_launcher_visible
                ),
                key=lambda application: (application.name.casefold(), application.name),
            )
        ),
    )


def path_index_for(entries: Iterable[tuple[HostPathPattern, int]]) -> ApplicationIndex[int]:
    """The index behind `Snapshot.protects_path`: every pattern's path, whatever its host."""
    return ApplicationIndex(
        (_pattern(PATH_INDEX_HOST + pattern.path), key) for pattern, key in entries
    )


# Rebuilt in the background: the previous snapshot serves while the next one compiles (within
# the staleness bound of `common.versioning`).
_state: VersionedState[Snapshot] = VersionedState(
    build_snapshot, name="policies snapshot", watches=POLICIES, background=True
)


def get_snapshot() -> Snapshot:
    """The current snapshot; raises (SnapshotError, VersionUnavailable) when it cannot be built."""
    return _state.get()


# Compilers, one per model

# The columns the gate needs, read with `values()`: building model instances and their related
# managers cost more than everything else at 10,000 applications.
_APPLICATION_COLUMNS = ("id", "aud", *APPLICATION_COLUMNS)
_POLICY_COLUMNS = ("id", "application_id", *POLICY_FIELDS)

# Compiled patterns are immutable: one per distinct text serves every application and every
# rebuild (applications on many hosts share paths; a rebuild recompiles nothing it saw before).
_pattern = functools.lru_cache(maxsize=1 << 16)(compile_pattern)
_duration = functools.lru_cache(maxsize=1024)(parse_duration)


@dataclass(frozen=True, slots=True)
class _Row:
    """A row read with `values()`, named as the error message names it."""

    model: str
    values: Mapping[str, Any]

    @property
    def pk(self) -> Any:
        return self.values["id"]

    @property
    def name(self) -> Any:
        return self.values.get("name", "")


def _label(row: Any) -> str:
    if isinstance(row, _Row):
        return f"{row.model} {row.pk} ({row.name!r})"
    return f"{type(row).__name__} {row.pk} ({getattr(row, 'name', '')!r})"


def _compile_row(row: Any, compiler: Callable[[Any], T]) -> T:
    try:
        return compiler(row)
    except Exception as error:
        label = _label(row)
        logger.error("cannot compile %s: %s", label, error)
        raise SnapshotError(f"cannot compile {label}: {error}") from error


def _compile_group(group: AccessGroup) -> CompiledGroup:
    return CompiledGroup(
        name=group.name,
        include=compile_rules(group.include, where="include"),
        require=compile_rules(group.require, where="require"),
        exclude=compile_rules(group.exclude, where="exclude"),
    )


def _compile_policy(row: _Row) -> CompiledPolicy:
    policy = row.values
    return CompiledPolicy(
        id=policy["id"],
        name=policy["name"],
        action=Action(policy["decision"]),
        precedence=policy["precedence"],
        include=compile_rules(policy["include"], where="include"),
        require=compile_rules(policy["require"], where="require"),
        exclude=compile_rules(policy["exclude"], where="exclude"),
        session_duration=_duration(policy["session_duration"])
        if policy["session_duration"]
        else None,
        purpose_justification_required=policy["purpose_justification_required"],
        purpose_justification_prompt=policy["purpose_justification_prompt"]
        or DEFAULT_PURPOSE_PROMPT,
        approval_required=policy["approval_required"],
        approval_groups=approval_groups_from_data(policy["approval_groups"]),
    )


def _compile_launcher(
    row: _Row, *, policies: Iterable[CompiledPolicy], providers: Iterable[str]
) -> CompiledApplication:
    """The App Launcher's application: its policies and sign-in settings; no patterns."""
    if row.values["domain"] or row.values["destinations"]:
        raise ValueError("the App Launcher has no domain or destinations")
    return _compiled_application(row, policies=policies, providers=providers)


def _compile_application(
    row: _Row, *, policies: Iterable[CompiledPolicy], providers: Iterable[str]
) -> tuple[CompiledApplication, list[HostPathPattern]]:
    application = row.values
    destinations = application["destinations"]
    if not isinstance(destinations, list) or not all(isinstance(d, str) for d in destinations):
        raise ValueError("destinations must be a list of patterns")
    patterns = [_pattern(text) for text in [application["domain"], *destinations]]
    return _compiled_application(row, policies=policies, providers=providers), patterns


def _compiled_application(
    row: _Row, *, policies: Iterable[CompiledPolicy], providers: Iterable[str]
) -> CompiledApplication:
    application = row.values
    destinations = application["destinations"]
    cors_headers = application["cors_headers"]
    cors = (
        None
        if cors_headers is None
        else CorsPolicy.from_data(_mapping(cors_headers, "cors_headers"))
    )
    return CompiledApplication(
        id=application["id"],
        aud=application["aud"],
        name=application["name"],
        domain=application["domain"],
        destinations=tuple(destinations),
        session_duration=_duration(application["session_duration"]),
        same_site_cookie_attribute=application["same_site_cookie_attribute"],
        http_only_cookie_attribute=application["http_only_cookie_attribute"],
        enable_binding_cookie=application["enable_binding_cookie"],
        options_preflight_bypass=application["options_preflight_bypass"],
        cors=cors,
        cors_on_responses=application["cors_on_responses"],
        unauthenticated_401=application["unauthenticated_401"],
        custom_deny_message=Application.deny_message_for(application["custom_deny_message"]),
        custom_deny_url=application["custom_deny_url"],
        custom_non_identity_deny_url=application["custom_non_identity_deny_url"],
        service_auth_401_redirect=application["service_auth_401_redirect"],
        allowed_idps=tuple(sorted(providers)),
        auto_redirect_to_identity=application["auto_redirect_to_identity"],
        require_second_factor_enrolment=application["require_second_factor_enrolment"],
        policies=evaluation_order(policies),
        app_launcher_visible=application["app_launcher_visible"],
        logo_url=application["logo_url"],
    )


def compile_identity_provider(provider: IdentityProvider) -> CompiledIdentityProvider:
    """One stored provider as sign-in uses it (the admin's "Test" checks a row just saved)."""
    values = {
        "id": provider.pk,
        "name": provider.name,
        "type": provider.type,
        "config": provider.config,
        "secrets": provider.secrets,
    }
    return _compile_identity_provider(_Row("IdentityProvider", values))


def _compile_identity_provider(row: _Row) -> CompiledIdentityProvider:
    values = row.values
    config = _mapping(values["config"], "config")
    try:
        secrets = decrypt_secrets(values["secrets"])
    except Undecryptable:
        # Not a malformed row: SECRET_KEY changed. The provider cannot sign anyone in until its
        # secret is entered again; every other way in keeps working.
        logger.error(
            "identity provider %s (%r): its secrets cannot be decrypted; enter them again",
            values["id"],
            values["name"],
        )
        parsed = None
    else:
        try:
            parsed = parse_config(values["type"], {**config, **secrets})
        except (ValidationError, KeyError) as error:
            # A row edited by hand: this provider signs nobody in, which widens nothing, while
            # every other way in (and every valid token) keeps working.
            logger.error(
                "identity provider %s (%r): its config is invalid: %s",
                values["id"],
                values["name"],
                error,
            )
            parsed = None
    return CompiledIdentityProvider(
        id=str(values["id"]), name=values["name"], type=values["type"], config=parsed
    )


def _compile_service_token(token: ServiceToken) -> CompiledServiceToken:
    if token.duration != FOREVER:
        parse_duration(token.duration)  # a malformed duration is a malformed row
    return CompiledServiceToken(
        id=token.pk,
        name=token.name,
        client_id=token.client_id,
        secret_hash=token.secret_hash,
        expires_at=token.expires_at,
        previous_secret_hash=token.previous_secret_hash or None,
        previous_secret_expires_at=token.previous_secret_expires_at,
        secret_version=token.client_secret_version,
    )


def _mapping(value: object, label: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{label} must be an object")
    return value


def invalidate_snapshot() -> None:
    """Forget this process's snapshot: the next `get_snapshot()` rebuilds (tests use it)."""
    _state.invalidate()
