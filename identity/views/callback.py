"""`/cdn-cgi/access/callback`: where upstream identity providers send the browser back.

On the login host only (the redirect URI each provider registers). The `state` the provider
returns must be one this browser started (`identity.flows.provider.take_provider_sign_in`);
the flow it stands for is validated again exactly as the login page validated it (canonical
application host on a served port, its AUD tag, the redirect URL, the `CF_AppSession` state),
and the provider must still be one the application offers. Then the provider's login method
turns the answer into a person (`finish`), and the sign-in ends as every other does
(`complete_sign_in`: the policies decide, then the org session and the authorized hop).

Every failure, from a cancelled sign-in to an id_token signed by the wrong key, is a readable
page on the login host with a link to try again and an authentication event with the reason;
none starts a session.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect

from identity.crosssite import apply_login_headers, refuse_cross_site
from identity.flows.provider import StateRefused, take_provider_sign_in
from identity.flows.signin import complete_sign_in, form_targets, offered_providers
from identity.person import Person
from identity.providers import login_method_for
from identity.providers.base import ProviderReturn, SignInFailed
from identity.views.login import (
    INVALID_LINK,
    InvalidFlow,
    flow_cookie_value,
    message_page,
    provider_failure,
    validated_flow,
)

logger = logging.getLogger("accessproject.identity")

# The only parameters read from the provider's redirect (RFC 6749 §4.1.2, RFC 9207).
_PARAMETERS = ("code", "state", "error", "iss")


@refuse_cross_site
def provider_callback(request: HttpRequest) -> HttpResponseBase:
    """Finish a sign-in at an identity provider (see the module docstring)."""
    if request.method not in ("GET", "HEAD"):
        return message_page(request, INVALID_LINK, status=405)
    try:
        started = take_provider_sign_in(
            state=request.GET.get("state", ""),
            flow_id=flow_cookie_value(request),
            host=request.get_host(),
        )
    except StateRefused as refused:
        return provider_failure(request, None, None, refused, status=400)
    stored = started.flow if isinstance(started.flow, dict) else {}
    try:
        flow = validated_flow(request, stored.get("app_host") or None, stored)
    except InvalidFlow as invalid:
        return invalid.response
    provider = next(
        (
            p
            for p in offered_providers(flow.snapshot, flow.application)
            if p.id == started.provider_id
        ),
        None,
    )
    method = login_method_for(provider) if provider is not None else None
    if provider is None or method is None or not method.redirects:
        failure = SignInFailed(
            "the identity provider is no longer offered", "That way of signing in is gone."
        )
        return provider_failure(request, flow, None, failure, status=400)
    back = ProviderReturn(
        params={name: str(request.GET[name]) for name in _PARAMETERS if name in request.GET},
        redirect_uri=started.redirect_uri,
        nonce=started.nonce,
        code_verifier=started.code_verifier,
    )
    try:
        answer = method.finish(provider, back, request)
    except SignInFailed as failure:
        return provider_failure(request, flow, provider, failure, status=failure.status)
    person = Person.signed_in_with(provider, email=answer.email, answer=answer)
    # A second factor the application wants is asked for on the flow's login page, where the
    # org session this starts is then stepped up (`identity.views.login`).
    response: HttpResponse = complete_sign_in(
        request,
        flow,
        person,
        second_factor=lambda _person, _step: HttpResponseRedirect(flow.page_url),
    )
    apply_login_headers(response, form_targets=form_targets(flow))
    return response
