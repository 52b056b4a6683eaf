"""A stand-in for GitHub's OAuth endpoints and REST API, run as its own server in the tests.

github.com cannot be reached from here, so this server answers as GitHub documents it: the
authorization page (`/login/oauth/authorize`, a sign-in form naming the account), the token
endpoint (`/login/oauth/access_token`: the client's credentials, the code, the redirect URI
and the PKCE verifier checked; errors answered with status 200 and an `error`, as GitHub does),
and the API (`/user`, `/user/emails`, `/user/orgs`, `/user/teams`, with Bearer tokens and
`Link: rel="next"` pages). Run it as a script: it reads its clients and accounts as JSON on
stdin and prints {"url": ...} once it listens. `POST /__control` with {"api_status": 500}
makes the API fail.

`GitHubStandIn` starts and stops it and drives its sign-in page as a person would.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests


class _State:
    def __init__(self, config: dict[str, Any]) -> None:
        self.clients: dict[str, dict[str, Any]] = {c["client_id"]: c for c in config["clients"]}
        self.accounts: dict[str, dict[str, Any]] = config["accounts"]
        self.page_size: int = config.get("page_size", 100)
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}
        self.api_status = 200
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    state: _State

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: Any, *, content_type: str = "application/json", headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        text = self.rfile.read(length).decode()
        return {key: values[0] for key, values in parse_qs(text).items()}

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        if parts.path == "/login/oauth/authorize":
            return self._authorize_page(query)
        if parts.path == "/":
            return self._send(200, {"current_user_url": "/user"})
        if parts.path.startswith("/user"):
            return self._api(parts.path, query)
        return self._send(404, {"message": "Not Found"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path == "/session":
            return self._session(self._form())
        if path == "/login/oauth/access_token":
            return self._access_token(self._form())
        if path == "/__control":
            length = int(self.headers.get("Content-Length") or 0)
            self.state.api_status = json.loads(self.rfile.read(length) or b"{}").get(
                "api_status", 200
            )
            return self._send(200, {"api_status": self.state.api_status})
        return self._send(404, {"message": "Not Found"})

    def _authorize_page(self, query: dict[str, str]) -> None:
        client = self.state.clients.get(query.get("client_id", ""))
        if client is None or query.get("redirect_uri") not in client["redirect_uris"]:
            return self._send(
                400,
                b"<p>The redirect_uri is not associated with this application.</p>",
                content_type="text/html",
            )
        fields = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in query.items()
        )
        cancel = f"{query['redirect_uri']}?" + urlencode(
            {
                "error": "access_denied",
                "error_description": "The user has denied your application access.",
                "state": query.get("state", ""),
            }
        )
        page = (
            "<!doctype html><title>Sign in to GitHub</title><h1>Sign in to GitHub</h1>"
            f'<form method="post" action="/session">{fields}'
            '<label for="login_field">Username or email address</label>'
            '<input id="login_field" name="login" autofocus>'
            '<input type="submit" name="commit" value="Sign in"></form>'
            f'<a id="cancel" href="{html.escape(cancel)}">Cancel</a>'
        )
        self._send(200, page.encode(), content_type="text/html")
        return None

    def _session(self, form: dict[str, str]) -> None:
        if form.get("login") not in self.state.accounts:
            return self._send(
                200, b"<p>Incorrect username or password.</p>", content_type="text/html"
            )
        code = secrets.token_hex(10)
        with self.state.lock:
            self.state.codes[code] = {
                "login": form["login"],
                "client_id": form.get("client_id"),
                "redirect_uri": form.get("redirect_uri"),
                "code_challenge": form.get("code_challenge"),
            }
        target = f"{form['redirect_uri']}?" + urlencode(
            {"code": code, "state": form.get("state", "")}
        )
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()
        return None

    def _access_token(self, form: dict[str, str]) -> None:
        client = self.state.clients.get(form.get("client_id", ""))
        if client is None or not secrets.compare_digest(
            client["client_secret"], form.get("client_secret", "")
        ):
            return self._send(200, {"error": "incorrect_client_credentials"})
        with self.state.lock:
            grant = self.state.codes.pop(form.get("code", ""), None)
        if grant is None or grant["client_id"] != form["client_id"]:
            return self._send(200, {"error": "bad_verification_code"})
        if grant["redirect_uri"] != form.get("redirect_uri"):
            return self._send(200, {"error": "redirect_uri_mismatch"})
        if grant["code_challenge"]:
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if challenge != grant["code_challenge"]:
                return self._send(200, {"error": "bad_verification_code"})
        token = "gho_" + secrets.token_hex(18)
        with self.state.lock:
            self.state.tokens[token] = grant["login"]
        self._send(
            200,
            {
                "access_token": token,
                "token_type": "bearer",
                "scope": "read:org,read:user,user:email",
            },
        )
        return None

    def _api(self, path: str, query: dict[str, str]) -> None:
        match = re.fullmatch(r"Bearer (\S+)", self.headers.get("Authorization", ""))
        login = self.state.tokens.get(match.group(1)) if match else None
        if login is None:
            return self._send(401, {"message": "Requires authentication"})
        if self.state.api_status != 200:
            return self._send(
                self.state.api_status, b"<html>Unicorn!</html>", content_type="text/html"
            )
        account = self.state.accounts[login]
        if path == "/user":
            return self._send(200, {"login": login, "id": account.get("id", 1)})
        listed = {
            "/user/emails": account.get("emails", []),
            "/user/orgs": [{"login": org} for org in account.get("orgs", [])],
            "/user/teams": [
                {"slug": slug, "name": slug, "organization": {"login": org}}
                for org, slug in account.get("teams", [])
            ],
        }.get(path)
        if listed is None:
            return self._send(404, {"message": "Not Found"})
        size = min(int(query.get("per_page", "30")), self.state.page_size)
        page = int(query.get("page", "1"))
        items = listed[(page - 1) * size : page * size]
        headers = []
        if page * size < len(listed):
            base = f"http://{self.headers['Host']}{path}"
            headers.append(("Link", f'<{base}?per_page={size}&page={page + 1}>; rel="next"'))
        self._send(200, items, headers=headers)
        return None


def main() -> None:
    config = json.loads(sys.stdin.read())
    state = _State(config)
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    print(json.dumps({"url": f"http://127.0.0.1:{server.server_address[1]}"}), flush=True)
    server.serve_forever()


class GitHubStandIn:
    """The stand-in server, in its own process."""

    def __init__(
        self, *, clients: list[dict[str, Any]], accounts: dict[str, Any], page_size: int = 100
    ):
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(
            json.dumps({"clients": clients, "accounts": accounts, "page_size": page_size})
        )
        self.process.stdin.close()
        self.url: str = json.loads(self.process.stdout.readline())["url"]

    def api_fails(self, status: int) -> None:
        requests.post(f"{self.url}/__control", json={"api_status": status}, timeout=5)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def sign_in(self, authorize_url: str, *, login: str, cancel: bool = False) -> dict[str, str]:
        """Sign in as `login` on the stand-in's page; the query of the redirect back."""
        assert authorize_url.startswith(self.url + "/login/oauth/authorize?"), authorize_url
        page = requests.get(authorize_url, timeout=10)
        assert page.status_code == 200, page.text
        if cancel:
            target = html.unescape(re.search(r'id="cancel" href="([^"]+)"', page.text).group(1))
        else:
            fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
            fields = {k: html.unescape(v) for k, v in fields.items()}
            answer = requests.post(
                f"{self.url}/session",
                data={**fields, "login": login},
                allow_redirects=False,
                timeout=10,
            )
            assert answer.status_code == 302, answer.text
            target = answer.headers["Location"]
        return {key: values[0] for key, values in parse_qs(urlsplit(target).query).items()}


if __name__ == "__main__":
    main()
