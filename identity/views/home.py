"""`/` on the login host: what this host is, and where to go from here.

With `ACCESS_TEAM_DOMAIN` set, people land on the login host's root when they type its name or
follow a bare link to it; Django's 404 page there was a dead end. This page says what the host is
and links to the person's account page (which signs them in first). On any other host `/` is
not this page's: it stays the application's, or a 404.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from identity.conf import conf
from identity.login_urls import ACCOUNT_PATH


@require_safe
def login_host_home(request: HttpRequest) -> HttpResponse:
    """The login host's root page; a 404 on every other host."""
    login_host = conf.team_domain
    if not login_host or request.get_host().lower() != login_host:
        raise Http404("no page here")
    return render(
        request,
        "identity/home.html",
        {"login_host": login_host, "account_url": ACCOUNT_PATH},
    )
