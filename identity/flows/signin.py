"""What happens once a person has proved who they are (PIN, password, or an existing session).

The application's policies decide; a refusal is recorded and shown (or sent to the
application's `custom_deny_url`); a pass starts the org session (its cookie on the login host)
and mints a single-use authorization code that the browser takes to the application host's
authorized hop. SSO is the same step with the identity read from a valid org token.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal, Protocol, TypeVar
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.crypto import salted_hmac

from common.credentials import code_hash
from identity.approvals import approval_wanted, live_approval
from identity.claims import PURPOSE_CLAIM, AccessClaims
from identity.clients import client_country, client_ip
from identity.conf import conf
from identity.cookies import CF_AUTHORIZATION, cookie_values, set_org_cookie
from identity.denial import deny_response
from identity.events import record_event
from identity.factors.services import enrolled_methods
from identity.factors.stepup import Next, StepUp, methods_with, next_step
from identity.flows.purpose import answers_for, purpose_page, purpose_wanted
from identity.hosts import Authority, request_scheme, served_ports
from identity.login_urls import (
    LAUNCHER_PATH,
    LOGIN_PATH,
    authorized_url,
    login_host_sign_in_url,
)
from identity.models import AccessSession, AuthEvent, AuthorizationCode
from identity.person import Person
from identity.providers import login_method_for
from identity.redirects import application_root, safe_redirect_url
from identity.sessions import new_identity_nonce, session_create, sign_in_is_live
from identity.tokens import issue_token, issuer_for, verified_tokens
from policies.decision import Verdict
from policies.rules import Subject
from policies.snapshot import CompiledApplication, CompiledIdentityProvider, Snapshot

CODE_LIFETIME = timedelta(seconds=60)
# Renders the login page's second-factor step (asking for a factor, or enrolling one) for a
# person whose first factor is proved; the view supplies it.
SecondFactorPage = Callable[[Person, StepUp], HttpResponse]
# Renders the login page's temporary-approval step (ask for an approval, or wait for one) for a
# person whose sign-in the deciding policy would allow once approved; the view supplies it.
ApprovalPage = Callable[[Person, Verdict], HttpResponse]


@dataclass(frozen=True)
class Flow:
    """A validated sign-in flow: for an application (on `app_host`), or for the login host."""

    snapshot: Snapshot
    scheme: str
    login_host: str
    application: CompiledApplication | None = None
    app_host: str = ""  # canonical `host[:port]` (identity.hosts), the only place a code goes
    redirect_url: str = "/"
    state_hash: str = ""
    kid: str = ""
    # As sent: the application's `redirect_url`, or on the login host's own page a login-host
    # page to return to (`identity.login_urls.login_host_return`), validated either way.
    raw_redirect_url: str = ""

    @property
    def app_origin(self) -> str:
        return f"{self.scheme}://{self.app_host}" if self.app_host else ""

    @property
    def return_url(self) -> str:
        """The page the sign-in returns to, as an absolute URL on the application host."""
        if self.redirect_url.startswith("/"):
            return f"{self.app_origin}{self.redirect_url}"
        return self.redirect_url

    @property
    def form_fields(self) -> dict[str, str]:
        """The hidden fields that carry this flow through the page's form posts."""
        return {"kid": self.kid, "redirect_url": self.raw_redirect_url, "state": self.state_hash}

    @property
    def page_path(self) -> str:
        """This flow's login page path, where its forms post (the fields carry the rest)."""
        return f"{LOGIN_PATH}/{self.app_host}" if self.application is not None else LOGIN_PATH

    @property
    def page_url(self) -> str:
        """This flow's login page on the login host (where "try again" goes)."""
        if self.application is None:
            return (
                login_host_sign_in_url(self.raw_redirect_url)
                if self.raw_redirect_url
                else LOGIN_PATH
            )
        return f"{self.page_path}?{urlencode(self.form_fields)}"

    def page_url_for(self, provider_id: str) -> str:
        """This flow's login page going straight to one identity provider (its button)."""
        separator = "&" if "?" in self.page_url else "?"
        return f"{self.page_url}{separator}{urlencode({'idp': provider_id})}"


def offered_providers(
    snapshot: Snapshot, application: CompiledApplication | None
) -> tuple[CompiledIdentityProvider, ...]:
    """The identity providers offered at sign-in, in name order: the application's
    `allowed_idps` (all when empty), or every provider on the login host's own page.

    A provider no login method handles, or whose secrets cannot be decrypted, is left out: it
    could not sign anyone in, and the others keep working.
    """
    allowed = set(application.allowed_idps) if application is not None else set()
    return tuple(
        provider
        for provider in snapshot.identity_providers.values()
        if (not allowed or provider.id in allowed)
        and provider.usable
        and login_method_for(provider) is not None
    )


def offered_of_type(
    snapshot: Snapshot, application: CompiledApplication | None, type_: str
) -> CompiledIdentityProvider | None:
    """The first offered provider of a form type (one PIN form, one password form a page)."""
    return next((p for p in offered_providers(snapshot, application) if p.type == type_), None)


def subject_id(email: str) -> str:
    """The token `sub`: a stable UUID per address, keyed by SECRET_KEY (Access's user id)."""
    digest = salted_hmac("accessproject.identity.subject", email.lower(), algorithm="sha256")
    return str(uuid.UUID(bytes=digest.digest()[:16], version=4))


def subject_for(request: HttpRequest, person: Person) -> Subject:
    """The policy subject for a person signing in from this request (IP and country are facts)."""
    return person.as_subject(ip=client_ip(request), country=client_country(request))


def session_lifetime(verdict: Verdict, application: CompiledApplication | None) -> timedelta:
    """The deciding policy's session duration, else the application's, else 24 hours."""
    if verdict.policy is not None and verdict.policy.session_duration:
        return verdict.policy.session_duration
    if application is not None and application.session_duration:
        return application.session_duration
    return conf.default_session_duration


def after_sign_in_url(
    redirect_url: str | None,
    *,
    application: CompiledApplication,
    app_host: str,
    scheme: str,
    snapshot: Snapshot,
    request_authority: Authority,
) -> str:
    """Where a sign-in to `application` sends the browser: `redirect_url` when it is safe here
    (`safe_redirect_url`, on the ports served from `request_authority`, plain http only in
    DEBUG), else the application's root. The login page and the authorized hop both ask."""
    return safe_redirect_url(
        redirect_url,
        app_host=app_host,
        scheme=scheme,
        snapshot=snapshot,
        ports=served_ports(request_authority),
        debug=settings.DEBUG,
        fallback=application_root(application.domain),
    )


def form_targets(flow: Flow) -> tuple[str, ...]:
    """Origins a form post on this flow's page may redirect to (the CSP `form-action`)."""
    targets = [flow.app_origin] if flow.app_origin else []
    if flow.application is not None and flow.application.custom_deny_url:
        parts = urlsplit(flow.application.custom_deny_url)
        targets.append(f"{parts.scheme}://{parts.netloc}")
    return tuple(targets)


class _SingleUse(Protocol):
    @property
    def used_at(self) -> datetime | None: ...

    @property
    def expires_at(self) -> datetime: ...


_Record = TypeVar("_Record", bound=_SingleUse)


def unspent(found: _Record | None, *, what: str, refused: Callable[[str], Exception]) -> _Record:
    """`found`, a single-use record (an authorization code, a provider sign-in's state), while
    it can still be spent; else raise `refused` with why: unknown, already used or expired."""
    if found is None:
        raise refused(f"unknown {what}")
    if found.used_at is not None:
        raise refused(f"{what} already used")
    if found.expires_at <= timezone.now():
        raise refused(f"{what} expired")
    return found


def current_sign_in(request: HttpRequest, flow: Flow) -> AccessClaims | None:
    """The identity of a still-valid session on the login host, for SSO, or None.

    The org token is the session. Without a team domain the login host is the application host,
    whose `CF_Authorization` then holds an app token instead: it proves the same sign-in.
    """
    values = cookie_values(request.META.get("HTTP_COOKIE", ""), CF_AUTHORIZATION)
    issuer = issuer_for(flow.login_host, scheme=flow.scheme)
    token_types: tuple[Literal["app", "org"], ...] = ("org",)
    if flow.app_host and flow.login_host == flow.app_host.lower():
        token_types = ("org", "app")
    for claims, _ in verified_tokens([(values, type_) for type_ in token_types], issuer=issuer):
        if claims.email and not claims.common_name:
            return claims
    return None


def offers(offered: tuple[CompiledIdentityProvider, ...], person: Person) -> bool:
    """Whether the sign-in's provider is among those offered (by id; by name for a token that
    names no id, signed before providers had one in tokens)."""
    if person.idp_id:
        return any(provider.id == person.idp_id for provider in offered)
    return any(provider.name == person.login_method for provider in offered)


def signed_in_as_user(snapshot: Snapshot, *, idp_id: str, login_method: str) -> bool:
    """Whether a sign-in by this identity provider (by id; by name for a token that carries
    none) is a Django user's, whose account must still exist and be active for the sign-in to
    open anything."""
    provider = snapshot.identity_providers.get(idp_id) or snapshot.provider_named(login_method)
    method = login_method_for(provider) if provider is not None else None
    return method is not None and method.signs_in_users


def _issue_code(
    request: HttpRequest,
    flow: Flow,
    person: Person,
    *,
    identity_nonce: str,
    lifetime: timedelta,
    session: AccessSession | None,
    purposes: Mapping[str, str],
) -> str:
    """A single-use code for the application host's hop, with what the app token will carry:
    the sign-in's claims and the session's `purposes` answers by AUD tag."""
    assert flow.application is not None
    code = secrets.token_urlsafe(32)
    now = timezone.now()
    AuthorizationCode.objects.create(
        code_hash=code_hash(code),
        application_id=flow.application.id,
        app_host=flow.app_host,
        state_hash=flow.state_hash,
        email=person.email,
        identity_nonce=identity_nonce,
        login_method=person.login_method,
        claims={
            "sub": subject_id(person.email),
            "country": client_country(request),
            "lifetime": int(lifetime.total_seconds()),
            **person.token_claims(),
            **({PURPOSE_CLAIM: purposes} if purposes else {}),
        },
        session=session,
        redirect_url=flow.redirect_url,
        created_at=now,
        expires_at=now + CODE_LIFETIME,
    )
    return code


def _refuse(
    request: HttpRequest, flow: Flow, person: Person, verdict: Verdict, *, sso: bool
) -> HttpResponse:
    assert flow.application is not None
    record_event(
        AuthEvent.Kind.SIGN_IN_REFUSED,
        email=person.email,
        application=flow.application.id,
        ip=client_ip(request),
        detail={"reason": verdict.reason, "login_method": person.login_method, "sso": sso},
    )
    return deny_response(
        request, application=flow.application, email=person.email, return_url=flow.return_url
    )


def complete_sign_in(
    request: HttpRequest,
    flow: Flow,
    person: Person,
    *,
    second_factor: SecondFactorPage | None = None,
) -> HttpResponse:
    """Finish a sign-in by PIN or password: decide, start the org session, go to the hop.

    When the application's policies want a second factor the sign-in lacks (or the application
    requires one to be enrolled), the org session starts as proved so far and the page asks
    for the factor (`second_factor`) instead of refusing.
    """
    application = flow.application
    lifetime = conf.default_session_duration
    step: StepUp | None = None
    needs_approval = False
    if application is not None:
        verdict = flow.snapshot.decide(application, subject_for(request, person))
        step = second_factor_step(request, flow, person, allowed=verdict.allowed)
        if step.next is Next.REFUSE or (step.next is not Next.PASS and second_factor is None):
            return _refuse(request, flow, person, verdict, sso=False)
        if step.next is Next.PASS:
            lifetime = session_lifetime(verdict, application)
            needs_approval = approval_wanted(
                verdict, email=person.email, application_id=application.id
            )

    now = timezone.now()
    ip = client_ip(request)
    country = client_country(request)
    identity_nonce = new_identity_nonce()
    org_session = session_create(
        email=person.email,
        application=None,
        identity_nonce=identity_nonce,
        login_method=person.login_method,
        issued_at=now,
        expires_at=now + lifetime,
        user=person.user,
        ip=ip,
        user_agent=request.headers.get("User-Agent", ""),
        country=country,
    )
    org_token = _org_token(
        flow, person, identity_nonce=identity_nonce, lifetime=lifetime, country=country
    )
    record_event(
        AuthEvent.Kind.SIGN_IN,
        email=person.email,
        application=application.id if application is not None else None,
        ip=ip,
        detail={"login_method": person.login_method, "sso": False},
    )
    if step is not None and step.next is not Next.PASS:
        assert second_factor is not None
        response: HttpResponse = second_factor(person, step)
    elif application is not None and purpose_wanted(verdict, application, org_session):
        response = purpose_step(request, flow, verdict)
    elif application is None:
        # The login host's own sign-in: back to the login-host page that asked for it (an
        # approver's link), else on to the App Launcher when there is one.
        response = HttpResponseRedirect(
            flow.raw_redirect_url or (LAUNCHER_PATH if conf.app_launcher else LOGIN_PATH)
        )
    elif needs_approval:
        # The flow's page asks for an approval (or says one is awaited) for the person of the
        # org session this starts, as single sign-on would.
        response = HttpResponseRedirect(flow.page_url)
    else:
        code = _issue_code(
            request,
            flow,
            person,
            identity_nonce=identity_nonce,
            lifetime=lifetime,
            session=org_session,
            purposes={},  # a session that has just started has answered nothing yet
        )
        response = HttpResponseRedirect(
            authorized_url(scheme=flow.scheme, app_host=flow.app_host, code=code)
        )
    set_org_cookie(
        response,
        token=org_token,
        scheme=request_scheme(request),
        max_age=int(lifetime.total_seconds()),
    )
    return response


def live_org_session(flow: Flow, claims: AccessClaims) -> AccessSession | None:
    """The org session a verified org token stands for, while it may still open applications.

    The database, not the token: a sign-in revoked a moment ago, or whose user has since been
    deactivated or deleted, signs in nowhere else (the person sees the sign-in page).
    """
    person = Person.from_claims(claims)
    org_session = (
        AccessSession.objects.select_related("user")
        .filter(identity_nonce=claims.identity_nonce, application__isnull=True)
        .first()
    )
    live = sign_in_is_live(
        org_session,
        needs_user=signed_in_as_user(
            flow.snapshot, idp_id=person.idp_id, login_method=person.login_method
        ),
    )
    return org_session if live else None


def second_factor_step(
    request: HttpRequest, flow: Flow, person: Person, *, allowed: bool
) -> StepUp:
    """What this sign-in to the flow's application needs next (`identity.factors.stepup`):
    the policies are asked again with the methods each kind of factor would add."""
    application = flow.application
    assert application is not None
    if allowed and not application.require_second_factor_enrolment:
        return StepUp(Next.PASS)  # the common case costs no query
    subject = subject_for(request, person)

    def allows(methods: frozenset[str]) -> bool:
        changed = replace(subject, auth_methods=methods)
        return flow.snapshot.decide(application, changed, with_trace=False).allowed

    return next_step(
        allows=allows,
        current=person.auth_methods,
        enrolled=enrolled_methods(person.email),
        enrolment_required=application.require_second_factor_enrolment,
    )


def sso_sign_in(
    request: HttpRequest,
    flow: Flow,
    claims: AccessClaims,
    *,
    second_factor: SecondFactorPage | None = None,
    approval: ApprovalPage | None = None,
) -> HttpResponse | None:
    """Sign in to the flow's application with an existing session, without showing the page.

    Returns None when the session's login method is not one this application accepts, or when
    the sign-in is over (`sign_in_is_live`): the person must then sign in again. A session
    that lacks a second factor the application wants is asked for it (`second_factor`); one
    whose deciding policy asks for a temporary approval the person does not have is asked to
    request it, or told it is awaited (`approval`; without one, refused).
    """
    application = flow.application
    assert application is not None
    person = Person.from_claims(claims)
    if not offers(offered_providers(flow.snapshot, application), person):
        return None
    org_session = live_org_session(flow, claims)
    if org_session is None:
        return None
    verdict = flow.snapshot.decide(application, subject_for(request, person))
    step = second_factor_step(request, flow, person, allowed=verdict.allowed)
    if step.next is Next.REFUSE or (step.next is not Next.PASS and second_factor is None):
        return _refuse(request, flow, person, verdict, sso=True)
    if step.next is not Next.PASS:
        assert second_factor is not None
        return second_factor(person, step)
    if approval_wanted(verdict, email=person.email, application_id=application.id):
        if approval is None:
            return _refuse(request, flow, person, verdict, sso=True)
        return approval(person, verdict)
    return _hop_with_session(
        request, flow, person, verdict, identity_nonce=claims.identity_nonce, session=org_session
    )


def _hop_with_session(
    request: HttpRequest,
    flow: Flow,
    person: Person,
    verdict: Verdict,
    *,
    identity_nonce: str,
    session: AccessSession,
    step_up: bool = False,
) -> HttpResponse:
    """An allowed sign-in of an existing org session: a code for the application host's hop,
    once the deciding policy's purpose prompt is answered (`identity.flows.purpose`)."""
    application = flow.application
    assert application is not None
    if purpose_wanted(verdict, application, session):
        return purpose_step(request, flow, verdict)
    purposes = answers_for(session, flow.snapshot.applications_for_host(flow.app_host))
    code = _issue_code(
        request,
        flow,
        person,
        identity_nonce=identity_nonce,
        lifetime=session_lifetime(verdict, application),
        session=session,
        purposes=purposes,
    )
    detail: dict[str, object] = {"login_method": person.login_method, "sso": True}
    if step_up:
        detail["step_up"] = True
    if application.aud in purposes:
        detail["purpose_justification"] = purposes[application.aud]
    approval = (
        live_approval(email=person.email, application_id=application.id)
        if verdict.wants_approval
        else None
    )
    if approval is not None:
        detail["approval"] = str(approval.pk)  # the temporary approval this sign-in enters under
    record_event(
        AuthEvent.Kind.SIGN_IN,
        email=person.email,
        application=application.id,
        ip=client_ip(request),
        detail=detail,
    )
    return HttpResponseRedirect(
        authorized_url(scheme=flow.scheme, app_host=flow.app_host, code=code)
    )


def _org_token(
    flow: Flow, person: Person, *, identity_nonce: str, lifetime: timedelta, country: str
) -> str:
    return issue_token(
        token_type="org",
        audiences=[conf.team_domain] if conf.team_domain else [],
        email=person.email,
        subject=subject_id(person.email),
        identity_nonce=identity_nonce,
        lifetime=lifetime,
        issuer=issuer_for(flow.login_host, scheme=flow.scheme),
        country=country,
        extra=person.token_claims(),
    )


def step_up_sign_in(
    request: HttpRequest,
    flow: Flow,
    claims: AccessClaims,
    org_session: AccessSession,
    *,
    factor_method: str,
    then: str = LOGIN_PATH,
) -> HttpResponse:
    """Go on with a sign-in whose second factor has just been verified (its `factor_method`).

    The org session is the same sign-in (same identity nonce, same end); its new token adds
    the factor's method and `mfa` to `amr`. This is the only place accessproject adds `mfa`
    to what a sign-in proved. Then the same validated flow goes on: the application's
    policies decide with the new methods, and a code goes to the application host's hop
    (`then`, on the login host's own pages).
    """
    person = Person.from_claims(claims)
    stepped = replace(person, auth_methods=methods_with(person.auth_methods, factor_method))
    now = timezone.now()
    remaining = org_session.expires_at - now
    country = client_country(request)
    org_token = _org_token(
        flow,
        stepped,
        identity_nonce=claims.identity_nonce,
        lifetime=remaining,
        country=claims.country or country,
    )
    application = flow.application
    record_event(
        AuthEvent.Kind.STEP_UP,
        email=person.email,
        application=application.id if application is not None else None,
        ip=client_ip(request),
        detail={"method": factor_method, "login_method": person.login_method},
    )
    if application is None:
        response: HttpResponse = HttpResponseRedirect(then)
    else:
        verdict = flow.snapshot.decide(application, subject_for(request, stepped))
        if not verdict.allowed:
            response = _refuse(request, flow, stepped, verdict, sso=False)
        elif approval_wanted(verdict, email=person.email, application_id=application.id):
            response = HttpResponseRedirect(flow.page_url)  # the page asks, as after a sign-in
        else:
            response = _hop_with_session(
                request,
                flow,
                stepped,
                verdict,
                identity_nonce=claims.identity_nonce,
                session=org_session,
                step_up=True,
            )
    set_org_cookie(
        response,
        token=org_token,
        scheme=request_scheme(request),
        max_age=max(int(remaining.total_seconds()), 1),
    )
    return response


def purpose_step(
    request: HttpRequest, flow: Flow, verdict: Verdict, *, error: str = "", answer: str = ""
) -> HttpResponse:
    """The page asking the deciding policy's purpose prompt; it posts back to the flow's login
    page (`step=purpose`), which records the answer and goes on (`identity.views.login`)."""
    assert flow.application is not None
    assert verdict.policy is not None
    return purpose_page(
        request,
        application=flow.application,
        app_host=flow.app_host,
        prompt=verdict.policy.purpose_justification_prompt,
        form_action=flow.page_path,
        flow_fields=flow.form_fields,
        error=error,
        answer=answer,
        status=400 if error else 200,
    )
