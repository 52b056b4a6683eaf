from django.urls import path

from identity.views.account import account_page
from identity.views.approval import approval_page
from identity.views.authorized import authorized
from identity.views.callback import provider_callback
from identity.views.certs import certs
from identity.views.forward_auth import auth_request, forward_auth
from identity.views.get_identity import get_identity
from identity.views.login import login_page
from identity.views.logout import logout
from identity.views.webauthn_script import launcher_script, webauthn_script

app_name = "access"

urlpatterns: list = [
    path("login", login_page, name="login"),
    path("login/<str:app_host>", login_page, name="login-app"),
    path("authorized", authorized, name="authorized"),
    path("callback", provider_callback, name="callback"),
    path("logout", logout, name="logout"),
    path("account", account_page, name="account"),
    path("approval/<str:token>", approval_page, name="approval"),
    path("certs", certs, name="certs"),
    path("get-identity", get_identity, name="get-identity"),
    # Asked by the proxy in front of a service that is not Django (docs/protect-your-service.md).
    path("forward-auth", forward_auth, name="forward-auth"),
    path("auth-request", auth_request, name="auth-request"),
    path("webauthn.js", webauthn_script, name="webauthn-script"),
    path("launcher.js", launcher_script, name="launcher-script"),
]
