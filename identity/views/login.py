"""The hosted login page: `/cdn-cgi/access/login/<app-host>?kid=&redirect_url=&state=` and
`/cdn-cgi/access/login` (the login host's own page).

GET shows the page (or, with a valid session, goes straight through SSO). The page's forms post
back to the same URL with a `step`: `send_pin`, `verify_pin` or `password`; `purpose` (the answer
to the deciding policy's purpose prompt, identity.flows.purpose); when the application wants a
second factor, `factor_code` or `factor_passkey` (and, for a person who has none yet,
`enrol_totp` or `enrol_passkey`), each for the person of the login host's session. Every request is
checked by `refuse_cross_site` (cross-site refusal, CSRF, framing and caching headers).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.utils.safestring import mark_safe

from common.versioning import VersionUnavailable
from identity import approvals
from identity.claims import AccessClaims
from identity.clients import client_country, client_ip
from identity.conf import conf
from identity.cookies import cookie_secure
from identity.crosssite import apply_login_headers, refuse_cross_site
from identity.events import record_event
from identity.factors import services as factors
from identity.factors import totp
from identity.factors.passkeys import CeremonyFailed
from identity.factors.stepup import Next, StepUp
from identity.flows.password import (
    INCORRECT,
    identity_email,
    locked_message,
    password_locked_for,
    password_sign_in,
)
from identity.flows.pin import (
    CHECKS_PAUSED,
    INVALID_CODE,
    THROTTLED,
    PinCheckOutcome,
    PinRequestOutcome,
    request_pin,
    verify_pin,
)
from identity.flows.provider import StateRefused, begin_provider_sign_in
from identity.flows.purpose import MAX_ANSWER_LENGTH, cleaned_answer, purpose_record
from identity.flows.signin import (
    Flow,
    Person,
    after_sign_in_url,
    complete_sign_in,
    current_sign_in,
    form_targets,
    live_org_session,
    offered_of_type,
    offered_providers,
    purpose_step,
    second_factor_step,
    sso_sign_in,
    step_up_sign_in,
    subject_for,
)
from identity.forms import FlowForm, PasswordForm, PinRequestForm, PinVerifyForm
from identity.hosts import (
    canonical_authority,
    is_served,
    parse_authority,
    request_scheme,
)
from identity.login_urls import (
    ACCOUNT_PATH,
    LAUNCHER_PATH,
    LOGIN_PATH,
    LOGOUT_PATH,
    build_login_url,
    login_host_for,
    login_host_return,
)
from identity.models import AuthEvent
from identity.providers import login_method_for
from identity.providers.base import SignInFailed
from identity.throttles import PROVIDER_STARTS_PER_IP, ThrottleUnavailable, throttle_key_for_ip
from policies.decision import Verdict
from policies.snapshot import CompiledIdentityProvider, SnapshotError, get_snapshot

logger = logging.getLogger("accessproject.identity")

FLOW_COOKIE = "CF_Session"  # Cloudflare's name for the login host's flow (CSRF) cookie
FLOW_COOKIE_SALT = "accessproject.identity.flow"
FLOW_COOKIE_MAX_AGE = 4 * 60 * 60
STATE_PATTERN = re.compile(r"[0-9a-f]{64}")
INVALID_LINK = "This sign-in link is not valid. Go back to the application and try again."
UNAVAILABLE = "Sign-in is unavailable right now. Try again soon."
TOO_MANY_STARTS = "Too many sign-ins were started from here. Wait a few minutes and try again."


class InvalidFlow(Exception):
    """The flow parameters cannot be trusted: answer with `response`."""

    def __init__(self, response: HttpResponseBase) -> None:
        super().__init__("invalid flow")
        self.response = response


def message_page(
    request: HttpRequest, message: str, *, status: int, restart_url: str = ""
) -> HttpResponse:
    """The login host's page that says why the sign-in cannot go on (and how to try again)."""
    return render(
        request,
        "identity/refused.html",
        {"message": message, "restart_url": restart_url},
        status=status,
    )


def validated_flow(request: HttpRequest, app_host: str | None, params: Mapping[str, Any]) -> Flow:
    """Validate the flow parameters (from the query on GET, the hidden fields on POST)."""
    try:
        snapshot = get_snapshot()
    except (SnapshotError, VersionUnavailable):
        logger.exception("login page unavailable: the configuration cannot be loaded")
        raise InvalidFlow(message_page(request, UNAVAILABLE, status=503)) from None
    request_host = request.get_host().lower()
    scheme = request_scheme(request)
    if app_host is None:
        # Without a team domain the request's host is the login host: in its canonical spelling
        # (`example.com.` and `example.com:443` are sent to `example.com`), never the request's,
        # which the org token's issuer would otherwise name.
        authority = parse_authority(request.get_host(), scheme=scheme)
        login_host = login_host_for(str(authority)) if authority else conf.team_domain
        if not login_host:
            raise InvalidFlow(message_page(request, INVALID_LINK, status=400))
        if request_host != login_host:
            # The login host's own page starts the org session, whose cookie is the login
            # host's: on any other host it would start one nobody else recognises.
            if request.method not in ("GET", "HEAD"):
                raise InvalidFlow(message_page(request, INVALID_LINK, status=400))
            raise InvalidFlow(HttpResponseRedirect(f"{scheme}://{login_host}{request.path}"))
        then = login_host_return(str(params.get("redirect_url", "")))
        return Flow(snapshot=snapshot, scheme=scheme, login_host=login_host, raw_redirect_url=then)

    form = FlowForm(params)
    # The application host is taken only as written canonically and on a port this site serves:
    # every URL below is built from it, and a code must never go to a host that merely
    # normalises to the application's (`claß.` → `class.`, `:8081`, a trailing dot).
    authority = canonical_authority(app_host, scheme=scheme)
    request_authority = parse_authority(request.get_host(), scheme=scheme)
    if (
        not form.is_valid()
        or authority is None
        or request_authority is None
        or not is_served(authority, request_authority=request_authority)
    ):
        raise InvalidFlow(message_page(request, INVALID_LINK, status=400))
    kid = form.cleaned_data["kid"]
    application = snapshot.by_aud.get(kid)
    if application is None or application not in snapshot.applications_for_host(authority.host):
        raise InvalidFlow(message_page(request, INVALID_LINK, status=400))

    app_host = str(authority)
    login_host = login_host_for(app_host)
    raw_redirect = form.cleaned_data["redirect_url"]
    redirect_url = after_sign_in_url(
        raw_redirect,
        application=application,
        app_host=app_host,
        scheme=scheme,
        snapshot=snapshot,
        request_authority=request_authority,
    )
    if request_host != login_host:
        # The org cookie belongs to the login host: send the browser there (GET only).
        if request.method not in ("GET", "HEAD"):
            raise InvalidFlow(message_page(request, INVALID_LINK, status=400))
        state = params.get("state")
        url = build_login_url(
            application=application,
            app_host=app_host,
            scheme=scheme,
            redirect_url=raw_redirect,
            state_hash=state if isinstance(state, str) and state else None,
        )
        raise InvalidFlow(HttpResponseRedirect(url))
    state = str(params.get("state", ""))
    flow = Flow(
        snapshot=snapshot,
        scheme=scheme,
        login_host=login_host,
        application=application,
        app_host=app_host,
        redirect_url=redirect_url,
        state_hash=state,
        kid=kid,
        raw_redirect_url=raw_redirect,
    )
    if not STATE_PATTERN.fullmatch(state):
        if request.method not in ("GET", "HEAD"):
            raise InvalidFlow(message_page(request, INVALID_LINK, status=400))
        # No state: back to the application, whose gate starts a fresh flow with one.
        raise InvalidFlow(HttpResponseRedirect(flow.return_url))
    return flow


def flow_cookie_value(request: HttpRequest) -> str | None:
    """The login host's flow cookie (`CF_Session`): what binds a sign-in to this browser."""
    return _flow_id(request)


def _flow_id(request: HttpRequest) -> str | None:
    value = request.get_signed_cookie(FLOW_COOKIE, default=None, salt=FLOW_COOKIE_SALT)
    return value if isinstance(value, str) and value else None


def _set_flow_cookie(request: HttpRequest, response: HttpResponseBase, flow_id: str) -> None:
    response.set_signed_cookie(
        FLOW_COOKIE,
        flow_id,
        salt=FLOW_COOKIE_SALT,
        max_age=FLOW_COOKIE_MAX_AGE,
        path="/cdn-cgi/access/",
        secure=cookie_secure(request_scheme(request)),
        httponly=True,
        samesite="Lax",
    )


def _render(
    request: HttpRequest,
    flow: Flow,
    template: str,
    *,
    status: int = 200,
    **context: Any,
) -> HttpResponse:
    offered = offered_providers(flow.snapshot, flow.application)
    return render(
        request,
        template,
        {
            "application": flow.application,
            "app_host": flow.app_host,
            "flow": flow.form_fields,
            "form_action": request.path,
            "restart_url": flow.page_url,
            "forms": _forms(offered),
            "buttons": [
                {"provider": provider, "url": flow.page_url_for(provider.id)}
                for provider in offered
                if _redirects(provider)
            ],
            **context,
        },
        status=status,
    )


def _forms(offered: tuple[CompiledIdentityProvider, ...]) -> list[dict[str, Any]]:
    """What the page shows, in name order: one form per form type (its first provider)."""
    forms: list[dict[str, Any]] = []
    seen: set[str] = set()
    for provider in offered:
        method = login_method_for(provider)
        if method is None or not method.form_template or provider.type in seen:
            continue
        seen.add(provider.type)
        forms.append({"provider": provider, "template": method.form_template})
    return forms


def _redirects(provider: CompiledIdentityProvider) -> bool:
    method = login_method_for(provider)
    return method is not None and method.redirects


def _provider_to_start(request: HttpRequest, flow: Flow) -> CompiledIdentityProvider | None:
    """The provider this visit goes straight to: the one its button names (`?idp=`), or the
    application's only one when it asks for `auto_redirect_to_identity`."""
    offered = offered_providers(flow.snapshot, flow.application)
    chosen = request.GET.get("idp")
    if chosen is not None:
        return next((p for p in offered if p.id == chosen and _redirects(p)), None)
    application = flow.application
    if application is not None and application.auto_redirect_to_identity and len(offered) == 1:
        return offered[0] if _redirects(offered[0]) else None
    return None


def _start_provider(
    request: HttpRequest, flow: Flow, provider: CompiledIdentityProvider
) -> HttpResponse:
    """Send the browser to the provider's sign-in page, this flow's state recorded."""
    ip = client_ip(request)
    if ip is not None and PROVIDER_STARTS_PER_IP.hit(throttle_key_for_ip(ip)) > (
        PROVIDER_STARTS_PER_IP.limit
    ):
        return message_page(request, TOO_MANY_STARTS, status=429, restart_url=flow.page_url)
    flow_id = _flow_id(request) or secrets.token_urlsafe(32)
    try:
        url = begin_provider_sign_in(flow=flow, provider=provider, flow_id=flow_id)
    except SignInFailed as failure:
        return provider_failure(request, flow, provider, failure, status=failure.status)
    response: HttpResponse = HttpResponseRedirect(url)
    _set_flow_cookie(request, response, flow_id)
    return response


def provider_failure(
    request: HttpRequest,
    flow: Flow | None,
    provider: CompiledIdentityProvider | None,
    failure: SignInFailed | StateRefused,
    *,
    status: int = 502,
) -> HttpResponse:
    """Record a failed sign-in at a provider and say so, with a link to try again."""
    application = flow.application if flow is not None else None
    detail: dict[str, object] = {"reason": failure.reason, "step": "identity provider"}
    if provider is not None:
        detail.update({"login_method": provider.name, "idp": provider.id})
    record_event(
        AuthEvent.Kind.SIGN_IN_REFUSED,
        email="",
        application=application.id if application is not None else None,
        ip=client_ip(request),
        detail=detail,
    )
    logger.warning("sign-in at an identity provider failed: %s", failure.reason)
    message = (
        failure.message
        if isinstance(failure, SignInFailed)
        else "This sign-in has expired or was started in another browser."
    )
    restart = flow.page_url if flow is not None else LOGIN_PATH
    return message_page(request, message, status=status, restart_url=restart)


def _show_page(request: HttpRequest, flow: Flow) -> HttpResponse:
    claims = current_sign_in(request, flow)
    if claims is not None:
        if flow.application is None and flow.raw_redirect_url:
            return HttpResponseRedirect(flow.raw_redirect_url)
        if flow.application is None:
            return render(
                request,
                "identity/signed_in.html",
                {
                    "email": claims.email,
                    "logout_action": LOGOUT_PATH,
                    "account_url": ACCOUNT_PATH,
                    "launcher_url": LAUNCHER_PATH if conf.app_launcher else "",
                },
            )
        response = _sso_sign_in(request, flow, claims)
        if response is not None:
            return response
    provider = _provider_to_start(request, flow)
    if provider is not None:
        return _start_provider(request, flow, provider)
    if request.GET.get("idp") is not None:
        return message_page(request, INVALID_LINK, status=400, restart_url=flow.page_url)
    return _render(request, flow, "identity/login.html")


def _send_pin(request: HttpRequest, flow: Flow) -> HttpResponse:
    provider = offered_of_type(flow.snapshot, flow.application, "onetimepin")
    form = PinRequestForm(request.POST)
    if provider is None:
        return message_page(request, INVALID_LINK, status=400)
    if not form.is_valid():
        return _render(
            request, flow, "identity/login.html", status=400, error="Enter a valid email address."
        )
    email = form.cleaned_data["email"]
    flow_id = _flow_id(request) or secrets.token_urlsafe(32)
    outcome = request_pin(
        snapshot=flow.snapshot,
        application=flow.application,
        email=email,
        provider=provider,
        flow_id=flow_id,
        ip=client_ip(request),
        country=client_country(request),
    )
    if outcome is PinRequestOutcome.THROTTLED:
        response = _render(
            request, flow, "identity/login.html", status=429, error=THROTTLED, email=email
        )
    else:
        # Sent or not, the page is the same: it must not tell who may sign in.
        response = _render(request, flow, "identity/pin_sent.html", email=email)
    _set_flow_cookie(request, response, flow_id)
    return response


def _verify_pin(request: HttpRequest, flow: Flow) -> HttpResponse:
    provider = offered_of_type(flow.snapshot, flow.application, "onetimepin")
    if provider is None:
        return message_page(request, INVALID_LINK, status=400)
    form = PinVerifyForm(request.POST)
    flow_id = _flow_id(request)
    outcome = PinCheckOutcome.INVALID
    if form.is_valid() and flow_id is not None:
        outcome = verify_pin(
            email=form.cleaned_data["email"],
            code=form.cleaned_data["code"],
            application=flow.application,
            flow_id=flow_id,
            ip=client_ip(request),
        )
    if outcome is not PinCheckOutcome.VALID:
        email = str(request.POST.get("email", ""))[:254]
        throttled = outcome is PinCheckOutcome.THROTTLED
        return _render(
            request,
            flow,
            "identity/pin_sent.html",
            status=429 if throttled else 200,
            error=CHECKS_PAUSED if throttled else INVALID_CODE,
            email=email,
        )
    person = Person.signed_in_with(provider, email=form.cleaned_data["email"])
    return complete_sign_in(
        request, flow, person, second_factor=_person_page(request, flow, second_factor_page)
    )


def _password(request: HttpRequest, flow: Flow) -> HttpResponse:
    provider = offered_of_type(flow.snapshot, flow.application, "password")
    if provider is None:
        return message_page(request, INVALID_LINK, status=400)
    form = PasswordForm(request.POST)
    user = None
    if form.is_valid():
        user = password_sign_in(
            request,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
            ip=client_ip(request),
        )
    if user is None:
        username = str(request.POST.get("username", ""))[:254]
        left = password_locked_for(username=username, ip=client_ip(request))
        return _render(
            request,
            flow,
            "identity/login.html",
            status=429 if left else 200,
            error=locked_message(left) if left else INCORRECT,
            username=username,
        )
    person = Person.signed_in_with(provider, email=identity_email(user), user=user)
    return complete_sign_in(
        request, flow, person, second_factor=_person_page(request, flow, second_factor_page)
    )


# --- second factors ------------------------------------------------------------------------------

WRONG_FACTOR_CODE = "That code is not valid."
FACTOR_CHECKS_PAUSED = "Too many wrong codes were entered. Wait a few minutes and try again."
KEY_REFUSED = "That key could not be verified. Try again."
KEY_NOT_ENOUGH = "This application needs another kind of key than that one."
SIGN_IN_OVER = "Your sign-in has ended. Start again."
ALREADY_ENROLLED = "You already have a second factor: use it, or change your factors on your page."


def relying_party(flow: Flow) -> tuple[str, str]:
    """The WebAuthn relying party of this login host: its id (the host name, no port) and
    the one origin a browser's answer may come from."""
    authority = parse_authority(flow.login_host, scheme=flow.scheme)
    host = authority.host if authority is not None else flow.login_host
    return host, f"{flow.scheme}://{flow.login_host}"


_Step = TypeVar("_Step")


def _person_page(
    request: HttpRequest, flow: Flow, page: Callable[[HttpRequest, Flow, str, _Step], HttpResponse]
) -> Callable[[Person, _Step], HttpResponse]:
    """`page` for the person a sign-in found: what the sign-in calls to ask its next step
    (a second factor, a temporary approval) on this request's flow."""

    def person_page(person: Person, step: _Step) -> HttpResponse:
        return page(request, flow, person.email, step)

    return person_page


def _sso_sign_in(request: HttpRequest, flow: Flow, claims: AccessClaims) -> HttpResponse | None:
    """`sso_sign_in` with this flow's pages for the steps it may ask (a second factor, an
    approval)."""
    return sso_sign_in(
        request,
        flow,
        claims,
        second_factor=_person_page(request, flow, second_factor_page),
        approval=_person_page(request, flow, approval_page),
    )


def second_factor_page(
    request: HttpRequest,
    flow: Flow,
    email: str,
    step: StepUp,
    *,
    error: str = "",
    status: int = 200,
    keep_secret: bool = False,
) -> HttpResponse:
    """Ask for one of the person's factors, or (`Next.ENROL`) have them set one up."""
    rp_id, _ = relying_party(flow)
    if step.next is Next.ENROL:
        return enrol_page(
            request, flow, email, step.methods, error=error, status=status, keep_secret=keep_secret
        )
    passkey_options = (
        factors.passkey_assertion_options(email=email, rp_id=rp_id)
        if step.methods & {"hwk", "swk"}
        else None
    )
    return _render(
        request,
        flow,
        "identity/factors/second_factor.html",
        status=status,
        email=email,
        error=error,
        offers_code=bool(step.methods & {"otp", "recovery"}),
        offers_otp="otp" in step.methods,
        passkey_options=json.loads(passkey_options) if passkey_options else None,
    )


def enrol_page(
    request: HttpRequest,
    flow: Flow,
    email: str,
    methods: frozenset[str],
    *,
    error: str = "",
    status: int = 200,
    keep_secret: bool = False,
    template: str = "identity/factors/enrol.html",
    **context: Any,
) -> HttpResponse:
    """Set up an authenticator app (QR code and key) or a passkey, as `methods` allow."""
    rp_id, _ = relying_party(flow)
    secret = None
    if "otp" in methods:
        secret = factors.totp_pending_secret(email) if keep_secret else None
        secret = secret or factors.totp_begin(email=email)
    uri = totp.provisioning_uri(secret, account=email, issuer=rp_id) if secret else ""
    passkey_options = (
        factors.passkey_registration_options(email=email, rp_id=rp_id)
        if methods & {"hwk", "swk"}
        else None
    )
    return _render(
        request,
        flow,
        template,
        status=status,
        email=email,
        error=error,
        totp_secret=secret or "",
        totp_secret_grouped=totp.grouped(secret) if secret else "",
        totp_qr=mark_safe(totp.qr_code_svg(uri)) if uri else "",  # noqa: S308 (segno's SVG)
        passkey_options=json.loads(passkey_options) if passkey_options else None,
        **context,
    )


def _factor_session(request: HttpRequest, flow: Flow) -> tuple[Any, Any] | HttpResponse:
    """The login host's live session whose person gives a factor, or the page saying it ended."""
    claims = current_sign_in(request, flow)
    org_session = live_org_session(flow, claims) if claims is not None else None
    if claims is None or org_session is None:
        return message_page(request, SIGN_IN_OVER, status=400, restart_url=flow.page_url)
    return claims, org_session


def _asked(request: HttpRequest, flow: Flow, claims: Any) -> StepUp:
    """What the page asks this session's person for (again, after a wrong answer)."""
    email = claims.email
    if flow.application is None:
        return StepUp(Next.ASK, factors.enrolled_methods(email))
    step = second_factor_step(request, flow, Person.from_claims(claims), allowed=False)
    if step.next in (Next.ASK, Next.ENROL):
        return step
    return StepUp(Next.ASK, factors.enrolled_methods(email))


def _factor_code(request: HttpRequest, flow: Flow) -> HttpResponse:
    found = _factor_session(request, flow)
    if isinstance(found, HttpResponse):
        return found
    claims, org_session = found
    # Only a code that would let the person in is checked (and, for a recovery code, spent).
    step = _asked(request, flow, claims)
    checked = factors.check_code(
        email=claims.email,
        code=str(request.POST.get("code", ""))[:40],
        ip=client_ip(request),
        accept=step.methods & factors.CODE_METHODS,
    )
    if checked.outcome is factors.CodeOutcome.VALID:
        return step_up_sign_in(
            request, flow, claims, org_session, factor_method=checked.method, then=request.path
        )
    throttled = checked.outcome is factors.CodeOutcome.THROTTLED
    return second_factor_page(
        request,
        flow,
        claims.email,
        step,
        error=FACTOR_CHECKS_PAUSED if throttled else WRONG_FACTOR_CODE,
        status=429 if throttled else 200,
    )


def _factor_passkey(request: HttpRequest, flow: Flow) -> HttpResponse:
    found = _factor_session(request, flow)
    if isinstance(found, HttpResponse):
        return found
    claims, org_session = found
    rp_id, origin = relying_party(flow)
    try:
        method = factors.passkey_assert(
            email=claims.email,
            credential_json=str(request.POST.get("credential", ""))[:20_000],
            rp_id=rp_id,
            origin=origin,
        )
    except CeremonyFailed as failed:
        logger.info("passkey refused: %s", failed.reason)
        return second_factor_page(
            request, flow, claims.email, _asked(request, flow, claims), error=KEY_REFUSED
        )
    step = _asked(request, flow, claims)
    if method not in step.methods:
        # A synced passkey (swk) where the policy wants a device-bound key (hwk), say.
        return second_factor_page(request, flow, claims.email, step, error=KEY_NOT_ENOUGH)
    return step_up_sign_in(
        request, flow, claims, org_session, factor_method=method, then=request.path
    )


def may_enrol(claims: Any) -> bool:
    """A first factor may be set up by its sign-in alone (trust on first use); once a person
    has one, adding another takes a session that gave a second factor."""
    return "mfa" in claims.auth_methods or not factors.confirmed_factors(claims.email)


def after_enrolment(request: HttpRequest, flow: Flow, email: str, *, next_url: str) -> HttpResponse:
    """The person's first factor gets ten recovery codes, shown once; then on to `next_url`."""
    if factors.recovery_codes_left(email):
        return HttpResponseRedirect(next_url)
    codes = factors.recovery_codes_issue(email=email)
    return render(
        request,
        "identity/factors/recovery_codes.html",
        {"email": email, "codes": codes, "continue_url": next_url},
    )


def _next_url(request: HttpRequest, flow: Flow) -> str:
    """Where a page of the flow goes on to: the application's sign-in, or this login-host page."""
    return flow.page_url if flow.application is not None else request.path


def _enrolling(request: HttpRequest, flow: Flow) -> Any:
    """The claims of the session setting up a factor, or the page saying why it may not."""
    found = _factor_session(request, flow)
    if isinstance(found, HttpResponse):
        return found
    claims, _ = found
    if not may_enrol(claims):
        return message_page(request, ALREADY_ENROLLED, status=403, restart_url=flow.page_url)
    return claims


def _enrol_totp(request: HttpRequest, flow: Flow) -> HttpResponse:
    claims = _enrolling(request, flow)
    if isinstance(claims, HttpResponse):
        return claims
    outcome = factors.totp_confirm(
        email=claims.email, code=str(request.POST.get("code", ""))[:40], ip=client_ip(request)
    )
    if outcome is not factors.CodeOutcome.VALID:
        throttled = outcome is factors.CodeOutcome.THROTTLED
        return enrol_page(
            request,
            flow,
            claims.email,
            frozenset({"otp", "hwk", "swk"}),
            error=FACTOR_CHECKS_PAUSED if throttled else WRONG_FACTOR_CODE,
            status=429 if throttled else 200,
            keep_secret=True,
        )
    return after_enrolment(request, flow, claims.email, next_url=_next_url(request, flow))


def _enrol_passkey(request: HttpRequest, flow: Flow) -> HttpResponse:
    claims = _enrolling(request, flow)
    if isinstance(claims, HttpResponse):
        return claims
    rp_id, origin = relying_party(flow)
    try:
        factors.passkey_register(
            email=claims.email,
            name=str(request.POST.get("name", "")),
            credential_json=str(request.POST.get("credential", ""))[:20_000],
            rp_id=rp_id,
            origin=origin,
            ip=client_ip(request),
        )
    except CeremonyFailed as failed:
        logger.info("passkey registration refused: %s", failed.reason)
        return enrol_page(
            request,
            flow,
            claims.email,
            frozenset({"otp", "hwk", "swk"}),
            error=KEY_REFUSED,
            keep_secret=True,
        )
    return after_enrolment(request, flow, claims.email, next_url=_next_url(request, flow))


# --- temporary approval --------------------------------------------------------------------------


def approval_page(
    request: HttpRequest,
    flow: Flow,
    email: str,
    verdict: Verdict,
    *,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """Ask for a temporary approval (justification and duration), or say one is awaited."""
    application = flow.application
    assert application is not None
    assert verdict.policy is not None
    waiting = approvals.open_request(email=email, application_id=application.id)
    if waiting is not None:
        return _render(
            request,
            flow,
            "identity/approval_waiting.html",
            status=status,
            email=email,
            asked=waiting,
            requested=approvals.duration_label(waiting.requested_duration),
            return_url=flow.return_url,
            logout_url=LOGOUT_PATH,
        )
    requested = str(request.POST.get("duration", "")) if errors else ""
    return _render(
        request,
        flow,
        "identity/approval_request.html",
        status=status,
        email=email,
        prompt=verdict.policy.purpose_justification_prompt,
        ended=approvals.last_refusal(email=email, application_id=application.id),
        errors=errors or {},
        justification=str(request.POST.get("justification", ""))[:2000] if errors else "",
        max_length=MAX_ANSWER_LENGTH,
        durations=approvals.duration_options(),
        chosen=requested or approvals.duration_value(approvals.DURATIONS[0][0]),
        logout_url=LOGOUT_PATH,
    )


def _request_approval(request: HttpRequest, flow: Flow) -> HttpResponse:
    found = _factor_session(request, flow)
    if isinstance(found, HttpResponse):
        return found
    claims, _ = found
    application = flow.application
    if application is None:
        return message_page(request, INVALID_LINK, status=400)
    verdict = flow.snapshot.decide(application, subject_for(request, Person.from_claims(claims)))
    if not verdict.wants_approval or verdict.policy is None:
        return HttpResponseRedirect(flow.page_url)  # nothing to ask: the page signs in
    # The justification is the policy's purpose prompt answered, held to the same rules.
    justification, problem = cleaned_answer(request.POST.get("justification"))
    duration = approvals.duration_choice(str(request.POST.get("duration", "")))
    errors = {"justification": problem} if problem else {}
    if duration is None:
        errors["duration"] = approvals.CHOOSE_DURATION
    if errors or duration is None:
        return approval_page(request, flow, claims.email, verdict, errors=errors, status=400)
    approvals.approval_request_create(
        email=claims.email,
        application_id=application.id,
        policy_name=verdict.policy.name,
        approval_groups=verdict.policy.approval_groups,
        justification=justification,
        requested_duration=duration,
        login_origin=f"{flow.scheme}://{flow.login_host}",
        return_url=flow.return_url,
        ip=client_ip(request),
    )
    # Back to the page (a reload does not ask twice), which now says the request is awaited.
    return HttpResponseRedirect(flow.page_url)


# --- purpose justification -----------------------------------------------------------------------


def _purpose(request: HttpRequest, flow: Flow) -> HttpResponse:
    """Record the session's answer to the deciding policy's purpose prompt, then go on as single
    sign-on does. Only for the person of the login host's session, and only when this
    application's policies, asked now, want one from them: a post for another application, or
    after the policy stopped asking, stores nothing."""
    application = flow.application
    if application is None:
        return message_page(request, INVALID_LINK, status=400)
    found = _factor_session(request, flow)
    if isinstance(found, HttpResponse):
        return found
    claims, org_session = found
    verdict = flow.snapshot.decide(application, subject_for(request, Person.from_claims(claims)))
    if verdict.wants_purpose and verdict.policy is not None:
        written = request.POST.get("purpose")
        answer, error = cleaned_answer(written)
        if error:
            kept = written[:MAX_ANSWER_LENGTH] if isinstance(written, str) else ""
            return purpose_step(request, flow, verdict, error=error, answer=kept)
        purpose_record(
            session=org_session,
            application=application,
            policy_name=verdict.policy.name,
            answer=answer,
        )
    response = _sso_sign_in(request, flow, claims)
    return response or message_page(request, SIGN_IN_OVER, status=400, restart_url=flow.page_url)


# The steps that give or set up a second factor, for the person of the login host's session
# (the account page offers them too).
FACTOR_STEPS = {
    "factor_code": _factor_code,
    "factor_passkey": _factor_passkey,
    "enrol_totp": _enrol_totp,
    "enrol_passkey": _enrol_passkey,
}
_STEPS = {
    "send_pin": _send_pin,
    "verify_pin": _verify_pin,
    "password": _password,
    "request_approval": _request_approval,
    "purpose": _purpose,
    **FACTOR_STEPS,
}


@refuse_cross_site
def login_page(request: HttpRequest, app_host: str | None = None) -> HttpResponseBase:
    """The login page and its form posts (see the module docstring)."""
    params: QueryDict = request.POST if request.method == "POST" else request.GET
    try:
        flow = validated_flow(request, app_host, params)
    except InvalidFlow as invalid:
        apply_login_headers(invalid.response)
        return invalid.response
    try:
        if request.method == "POST":
            step = _STEPS.get(str(request.POST.get("step", "")))
            response = (
                step(request, flow) if step else message_page(request, INVALID_LINK, status=400)
            )
        else:
            response = _show_page(request, flow)
    except ThrottleUnavailable:
        # Without its counters a sign-in step would be unlimited: wait instead.
        logger.exception("sign-in throttles unavailable")
        response = message_page(request, UNAVAILABLE, status=503)
    apply_login_headers(response, form_targets=form_targets(flow))
    return response
