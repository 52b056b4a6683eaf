"""An application's refusal of a person or a service token: its deny page, or its deny URL.

Shared by the gate (a token that does not pass) and the sign-in flows (a person their policies
refuse), so that both refuse in the same words.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render

from identity.login_urls import LOGOUT_PATH, logout_back_to
from policies.snapshot import CompiledApplication


def deny_response(
    request: HttpRequest,
    *,
    application: CompiledApplication,
    email: str,
    non_identity: bool = False,
    return_url: str = "",
) -> HttpResponse:
    """The application's deny page (403), or a redirect to its deny URL.

    A refused person goes to `custom_deny_url`; a refused service token (non-identity) to
    `custom_non_identity_deny_url`. Without the URL for the case, the deny page. Its two ways
    on for a person both sign out everywhere (the logout on this host): "Sign out" shows the
    signed-out page, whose "Sign in again" leads back to `return_url` (the refused page, a
    path on this host or an absolute URL); "Try another account" goes straight back to it,
    where the gate asks who is signing in. The logout checks `return_url` again.
    """
    deny_url = (
        application.custom_non_identity_deny_url if non_identity else application.custom_deny_url
    )
    if deny_url:
        return HttpResponseRedirect(deny_url)
    return render(
        request,
        "identity/deny.html",
        {
            "message": application.custom_deny_message,
            "application": application,
            "email": email,
            "logout_url": logout_back_to(LOGOUT_PATH, return_url),
            "another_account_url": logout_back_to(LOGOUT_PATH, return_url, sign_in_again=True),
        },
        status=403,
    )
