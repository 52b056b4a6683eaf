"""The App Launcher at `/` on the login host (`ACCESS_APP_LAUNCHER`): the applications a person
may open, as tiles, behind the launcher's own policies.

Who is asking is the login host's session (its org token, then its row: a sign-in revoked a
moment ago opens nothing here either); without one the browser goes to the sign-in, which comes
back here. The launcher's policies and every tile are decided from the compiled snapshot
(`identity.launcher`): one query for the session, none per tile. Without an application of type
`app_launcher` nobody may open it. A search (`?q=`) is applied on the server, so it works without
JavaScript; the page's script filters the same way as one types.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render

from common.versioning import VersionUnavailable
from identity.clients import client_country, client_ip
from identity.crosssite import apply_login_headers, refuse_cross_site
from identity.denial import deny_response
from identity.flows.signin import Flow, current_sign_in, live_org_session
from identity.hosts import parse_authority, request_scheme
from identity.launcher import image_origins, may_open, normalized_query, tiles_for
from identity.login_urls import ACCOUNT_PATH, LOGIN_PATH, LOGOUT_PATH
from identity.person import Person
from identity.views.login import UNAVAILABLE, message_page
from policies.snapshot import SnapshotError, get_snapshot

logger = logging.getLogger("accessproject.identity")

NO_LAUNCHER = (
    "The App Launcher is not set up yet: an administrator adds an application of type "
    "app_launcher, whose policies say who may open it."
)


@refuse_cross_site
def app_launcher(request: HttpRequest) -> HttpResponseBase:
    """The launcher page (see the module docstring)."""
    response = _launcher(request)
    if "Content-Security-Policy" not in response.headers:
        apply_login_headers(response)
    return response


def _launcher(request: HttpRequest) -> HttpResponseBase:
    try:
        snapshot = get_snapshot()
    except (SnapshotError, VersionUnavailable):
        logger.exception("App Launcher unavailable: the configuration cannot be loaded")
        return message_page(request, UNAVAILABLE, status=503)
    scheme = request_scheme(request)
    flow = Flow(snapshot=snapshot, scheme=scheme, login_host=request.get_host().lower())
    claims = current_sign_in(request, flow)
    if claims is None or live_org_session(flow, claims) is None:
        return HttpResponseRedirect(LOGIN_PATH)
    person = Person.from_claims(claims)
    subject = person.as_subject(ip=client_ip(request), country=client_country(request))
    launcher = snapshot.app_launcher
    if launcher is None:
        return message_page(request, NO_LAUNCHER, status=403)
    if not may_open(snapshot, launcher, person, subject):
        return deny_response(request, application=launcher, email=person.email)
    authority = parse_authority(request.get_host(), scheme=scheme)
    tiles = tiles_for(
        snapshot, person, subject, scheme=scheme, port=authority.port if authority else None
    )
    query = normalized_query(request.GET.get("q", ""))
    response = render(
        request,
        "identity/launcher.html",
        {
            "email": person.email,
            "login_host": flow.login_host,
            "tiles": [{"tile": tile, "shown": tile.matches(query)} for tile in tiles],
            "any_shown": any(tile.matches(query) for tile in tiles),
            "query": query,
            "account_url": ACCOUNT_PATH,
            "logout_action": LOGOUT_PATH,
        },
    )
    apply_login_headers(response, image_origins=image_origins(tiles))
    return response
