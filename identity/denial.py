"""An application's refusal of a person or a service token: its deny page, or its deny URL.

Shared by the gate (a token that does not pass) and the sign-in flows (a person their policies
refuse), so that both refuse in the same words.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string

from policies.snapshot import CompiledApplication


def deny_response(
    request: HttpRequest,
    *,
    application: CompiledApplication,
    email: str,
    non_identity: bool = False,
) -> HttpResponse:
    """The application's deny page (403), or a redirect to its deny URL.

    A refused person goes to `custom_deny_url`; a refused service token (non-identity) to
    `custom_non_identity_deny_url`. Without the URL for the case, the deny page.
    """
    deny_url = (
        application.custom_non_identity_deny_url if non_identity else application.custom_deny_url
    )
    if deny_url:
        return HttpResponseRedirect(deny_url)
    body = render_to_string(
        "identity/deny.html",
        {
            "message": application.custom_deny_message,
            "application": application,
            "email": email,
        },
        request=request,
    )
    return HttpResponse(body, status=403)
