"""`/` on the login host: the App Launcher, or what this host is and where to go from here.

With `ACCESS_TEAM_DOMAIN` set, people land on the login host's root when they type its name or
follow a bare link to it; Django's 404 page there was a dead end. With `ACCESS_APP_LAUNCHER`
on, the root is the App Launcher (`identity.views.launcher`); off, this page says what the host
is and links to the person's account page (which signs them in first). On any other host `/`
is not this page's: it stays the application's, or a 404.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_safe

from identity.conf import conf
from identity.login_urls import ACCOUNT_PATH
from identity.views.launcher import app_launcher


@require_safe
def login_host_home(request: HttpRequest) -> HttpResponseBase:
    """The login host's root page; a 404 on every other host."""
    login_host = conf.team_domain
    if not login_host or request.get_host().lower() != login_host:
        raise Http404("no page here")
    if conf.app_launcher:
        return app_launcher(request)
    return _short_page(request, login_host)


def _short_page(request: HttpRequest, login_host: str) -> HttpResponse:
    return render(
        request,
        "identity/home.html",
        {"login_host": login_host, "account_url": ACCOUNT_PATH},
    )
