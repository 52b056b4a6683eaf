"""A small HTTP client that behaves like a browser where the sign-in flow looks: for tests of
servers in other processes (an installed site, nginx, Caddy).

Every host name is this machine (requests go to 127.0.0.1 with the URL's `Host`), cookies are
kept per host name as browsers keep them (the port is not part of it; `Secure` cookies are sent
over plain HTTP too, as Chromium does for loopback names), navigations carry the fetch metadata
a browser sends, and a form post carries its page's `Origin`. TLS certificates are not verified:
the servers use the suite's self-signed one.
"""

from __future__ import annotations

import http.client
import re
import ssl
from dataclasses import dataclass, field
from html import unescape
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urljoin, urlsplit

MAX_REDIRECTS = 10
_INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r'(\w[\w-]*)="([^"]*)"')
_FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.IGNORECASE | re.DOTALL)


@dataclass
class Response:
    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The value of the first header `name` (any case), or None."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class HttpBrowser:
    """One person's browser: cookies per host name, and the pages they went through."""

    jars: dict[str, dict[str, str]] = field(default_factory=dict)
    history: list[Response] = field(default_factory=list)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        cookies: bool = True,
    ) -> Response:
        """One request, no redirect followed; cookies the answer sets are kept."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        sent = {"Host": parts.netloc, **(headers or {})}
        jar = self.jars.setdefault(host, {})
        if cookies and jar and "Cookie" not in sent:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in jar.items())
        if parts.scheme == "https":
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            connection: http.client.HTTPConnection = _SniConnection(
                "127.0.0.1", port, server_name=host, context=context, timeout=15
            )
        else:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        try:
            connection.request(method, target, body=body or None, headers=sent)
            answer = connection.getresponse()
            response = Response(url, answer.status, answer.getheaders(), answer.read())
        finally:
            connection.close()
        for value in response.all("Set-Cookie"):
            self._keep_cookie(host, value)
        self.history.append(response)
        return response

    def _keep_cookie(self, host: str, header: str) -> None:
        cookie = SimpleCookie()
        cookie.load(header)
        jar = self.jars.setdefault(host, {})
        for name, morsel in cookie.items():
            if morsel["max-age"] == "0" or not morsel.value:
                jar.pop(name, None)
            else:
                jar[name] = morsel.value

    def navigate(self, url: str, *, site: str = "none") -> Response:
        """A top-level navigation (typing the URL, or a link from `site`), redirects followed."""
        response = self.request("GET", url, headers=_navigation(site))
        for _ in range(MAX_REDIRECTS):
            location = response.header("Location")
            if response.status not in (301, 302, 303, 307, 308) or location is None:
                return response
            next_url = urljoin(response.url, location)
            same = _origin(next_url) == _origin(response.url)
            response = self.request(
                "GET", next_url, headers=_navigation("same-origin" if same else "cross-site")
            )
        raise AssertionError(f"more than {MAX_REDIRECTS} redirects from {url}")

    def submit(self, page: Response, values: dict[str, str], *, step: str) -> Response:
        """Post the form of `page` whose hidden `step` is `step`, with `values` filled in, and
        follow the redirects as the browser would."""
        for form in _FORM.findall(page.text):
            fields = _form_fields(form)
            if fields.get("step") == step:
                break
        else:
            raise AssertionError(f"no form with step {step!r} on {page.url}:\n{page.text}")
        action = re.search(r'action="([^"]*)"', form)
        url = urljoin(page.url, unescape(action.group(1)) if action else page.url)
        body = urlencode({**fields, **values}).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": _origin(url),
            "Referer": page.url,
            "Sec-Fetch-Site": "same-origin",
            "Sec-Fetch-Mode": "navigate",
            "Sec-Fetch-Dest": "document",
        }
        response = self.request("POST", url, headers=headers, body=body)
        location = response.header("Location")
        if response.status in (301, 302, 303) and location is not None:
            next_url = urljoin(url, location)
            site = "same-origin" if _origin(next_url) == _origin(url) else "cross-site"
            response = self.navigate(next_url, site=site)
        return response


def _navigation(site: str) -> dict[str, str]:
    return {
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Sec-Fetch-Site": site,
        "Sec-Fetch-Mode": "navigate",
        "Sec-Fetch-Dest": "document",
    }


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _form_fields(form: str) -> dict[str, str]:
    fields = {}
    for tag in _INPUT.findall(form):
        attributes = dict(_ATTRIBUTE.findall(tag))
        if "name" in attributes:
            fields[attributes["name"]] = unescape(attributes.get("value", ""))
    return fields


class _SniConnection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 that names the URL's host in TLS (SNI), as a browser would."""

    def __init__(self, address: str, port: int, *, server_name: str, **kwargs: object) -> None:
        super().__init__(address, port, **kwargs)  # type: ignore[arg-type]
        self._server_name = server_name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]
            self.sock, server_hostname=self._server_name
        )
