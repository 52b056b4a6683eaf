"""The soak's load: a bounded pool of threads, each with a keep-alive connection per instance,
sending the mix a gate sees at peak, alternating instances as a load balancer does.

Each thread sends at most one request every `interval` seconds (falling behind skips ahead rather
than bursting), so the load is the same in every phase and latencies can be compared. Every
request is kept as a `Sent` (`tests.soak.oracle`); a sign-in is one `Sent` for its whole flow.
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.production.actions import HOST
from tests.soak import actions
from tests.soak.oracle import Change, Kind, Sent, What

TIMEOUT = 15.0

# How often each kind is sent, out of the weights' sum: single requests from the request threads,
# whole sign-ins and logouts from a thread of their own (a sign-in hashes a password: seconds on
# a loaded machine, which would otherwise slow every other kind down).
REQUEST_MIX: dict[Kind, int] = {
    Kind.PROTECTED: 40,
    Kind.POLICY: 10,
    Kind.REVOKED: 4,
    Kind.REPLAY: 4,
    Kind.NEW_APP: 4,
    Kind.PREFLIGHT: 10,
    Kind.OPEN: 8,
    Kind.UNAUTHENTICATED: 8,
    Kind.SERVICE: 8,
}
FLOW_MIX: dict[Kind, int] = {Kind.SIGN_IN: 2, Kind.LOGOUT: 1}

# What a sender says of its request: the kind it turned out to be, the status, whom the view
# served, whom it was sent as, the identity nonce of its cookie.
Outcome = tuple[Kind, int, str | None, str, str]

_CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    cookies: Mapping[str, str]
    body: bytes


@dataclass
class Session:
    email: str
    token: str
    nonce: str


def token_claims(token: str) -> dict[str, Any]:
    """A JWT's payload, unverified (the soak only reads what it was given)."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def served_by(answer: Answer) -> str | None:
    """Whom the echo view served, from its JSON body; None when no view answered."""
    if answer.status != 200:
        return None
    return served_by_body(answer.headers, answer.body)


def served_by_body(headers: Mapping[str, str], body: bytes) -> str | None:
    """Whom the echo view served, from a 200's headers (lower-case names) and JSON body."""
    if not headers.get("content-type", "").startswith("application/json"):
        return None
    try:
        access = json.loads(body).get("access")
    except ValueError:
        return None
    if not access:
        return ""
    return str(access.get("email") or access.get("common_name") or "")


class Connection:
    """A keep-alive connection to one instance; a stale one is reopened once, as a balancer does.
    `last_sent` is when the latest request left, on `clock`."""

    def __init__(self, port: int, clock: Callable[[], float]) -> None:
        self.port = port
        self.clock = clock
        self.last_sent = 0.0
        self._connection: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Answer:
        self.last_sent = self.clock()
        for attempt in (1, 2):
            reused = self._connection is not None
            if self._connection is None:
                self._connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=TIMEOUT
                )
            try:
                self._connection.request(
                    method, path, body=body, headers={"Host": HOST, **(headers or {})}
                )
                response = self._connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if reused and attempt == 1:
                    continue  # the server closed an idle connection: not an answer
                raise
            except (OSError, http.client.HTTPException):
                self.close()
                raise
            cookies = {}
            for line in response.headers.get_all("Set-Cookie") or ():
                name, _, rest = line.partition("=")
                cookies[name.strip()] = rest.split(";", 1)[0]
            if response.will_close:
                self.close()
            return Answer(
                status=response.status,
                headers={name.lower(): value for name, value in response.getheaders()},
                cookies=cookies,
                body=data,
            )
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


@dataclass
class Pools:
    """What the load sends as, shared by every thread (under `lock`)."""

    sessions: list[Session]
    policy_sessions: list[Session]
    revoked: Session
    service: dict[str, str]
    signers: list[str]
    signed_in: list[Session] = field(default_factory=list)  # sign-ins of this run, not logged out
    logged_out: list[Session] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, seeded: Mapping[str, Any]) -> Pools:
        def session(email: str, minted: Mapping[str, str]) -> Session:
            return Session(email=email, token=minted["token"], nonce=minted["nonce"])

        people = seeded["sessions"]
        return cls(
            sessions=[session(person["email"], person["main"]) for person in people],
            policy_sessions=[session(person["email"], person["policy"]) for person in people],
            revoked=session(seeded["revoked"]["email"], seeded["revoked"]),
            service=seeded["service"],
            signers=list(seeded["signers"]),
        )


class Recorder:
    """Everything the run saw, in order: requests, acknowledged changes, written records."""

    def __init__(self) -> None:
        self.began = time.monotonic()
        self.sent: list[Sent] = []
        self.changes: list[Change] = []
        self.records: dict[str, list[Any]] = {
            "sign_ins": [],
            "logouts": [],
            "revocations": [],
            "rotations": [],
            "policy_updates": [],
        }
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.monotonic() - self.began

    def add(self, sent: Sent) -> None:
        with self._lock:
            self.sent.append(sent)

    def change(self, what: What, subject: str) -> None:
        with self._lock:
            self.changes.append(Change(what=what, at=self.now(), subject=subject))

    def record(self, category: str, entry: Any) -> None:
        with self._lock:
            self.records[category].append(entry)


def _cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"CF_Authorization={token}"}


class Worker(threading.Thread):
    """One thread of the load: a request of the mix, on the next instance, every `interval`."""

    def __init__(
        self,
        ports: Mapping[str, int],
        pools: Pools,
        recorder: Recorder,
        stopping: threading.Event,
        *,
        mix: Mapping[Kind, int],
        interval: float,
        seed: int,
    ) -> None:
        super().__init__(daemon=True)
        self.connections = {name: Connection(port, recorder.now) for name, port in ports.items()}
        self.names = list(ports)
        self.pools = pools
        self.recorder = recorder
        self.stopping = stopping
        self.interval = interval
        self.random = random.Random(seed)
        self.turn = seed
        self.kinds = list(mix)
        self.weights = [mix[kind] for kind in self.kinds]
        self.senders: dict[Kind, Callable[[Connection], Outcome]] = {
            Kind.PROTECTED: self._protected,
            Kind.POLICY: self._policy,
            Kind.REVOKED: self._revoked,
            Kind.REPLAY: self._replay,
            Kind.NEW_APP: self._new_app,
            Kind.PREFLIGHT: self._preflight,
            Kind.OPEN: self._open,
            Kind.UNAUTHENTICATED: self._unauthenticated,
            Kind.SERVICE: self._service,
            Kind.SIGN_IN: self._sign_in,
            Kind.LOGOUT: self._logout,
        }

    def run(self) -> None:
        next_at = time.monotonic()
        while not self.stopping.is_set():
            kind = self.random.choices(self.kinds, self.weights)[0]
            self.turn += 1
            name = self.names[self.turn % len(self.names)]
            self.send(kind, name)
            next_at = max(next_at + self.interval, time.monotonic())
            self.stopping.wait(max(0.0, next_at - time.monotonic()))
        for connection in self.connections.values():
            connection.close()

    def send(self, kind: Kind, instance: str) -> None:
        connection = self.connections[instance]
        started = self.recorder.now()
        try:
            kind, status, served, subject, nonce = self.senders[kind](connection)
        except (OSError, http.client.HTTPException):
            status, served, subject, nonce = 0, None, "", ""
        if kind in FLOW_MIX:
            # A flow counts in the phase, and the fault window, of the request that decided it.
            started = connection.last_sent
        self.recorder.add(
            Sent(
                kind=kind,
                instance=instance,
                started=started,
                duration=self.recorder.now() - started,
                status=status,
                served=served,
                subject=subject,
                nonce=nonce,
            )
        )

    def _pick(self, pool: list[Session]) -> Session:
        with self.pools.lock:
            return self.random.choice(pool)

    def _as(self, kind: Kind, connection: Connection, path: str, session: Session) -> Outcome:
        answer = connection.request("GET", path, headers=_cookie(session.token))
        return kind, answer.status, served_by(answer), session.email, session.nonce

    def _protected(self, connection: Connection) -> Outcome:
        with self.pools.lock:
            pool = self.pools.sessions + self.pools.signed_in
            session = self.random.choice(pool)
        return self._as(Kind.PROTECTED, connection, f"{actions.MAIN_PATH}/x", session)

    def _policy(self, connection: Connection) -> Outcome:
        session = self._pick(self.pools.policy_sessions)
        return self._as(Kind.POLICY, connection, f"{actions.POLICY_PATH}/x", session)

    def _revoked(self, connection: Connection) -> Outcome:
        return self._as(Kind.REVOKED, connection, f"{actions.MAIN_PATH}/x", self.pools.revoked)

    def _replay(self, connection: Connection) -> Outcome:
        with self.pools.lock:
            session = self.random.choice(self.pools.logged_out) if self.pools.logged_out else None
        if session is None:
            return self._protected(connection)
        return self._as(Kind.REPLAY, connection, f"{actions.MAIN_PATH}/x", session)

    def _anonymous(self, kind: Kind, connection: Connection, path: str) -> Outcome:
        answer = connection.request("GET", path)
        return kind, answer.status, served_by(answer), "", ""

    def _new_app(self, connection: Connection) -> Outcome:
        index = self.random.randrange(100)
        return self._anonymous(Kind.NEW_APP, connection, f"{actions.BULK_PATH}/{index}/x")

    def _open(self, connection: Connection) -> Outcome:
        return self._anonymous(Kind.OPEN, connection, f"{actions.OPEN_PATH}/x")

    def _unauthenticated(self, connection: Connection) -> Outcome:
        return self._anonymous(Kind.UNAUTHENTICATED, connection, f"{actions.MAIN_PATH}/x")

    def _preflight(self, connection: Connection) -> Outcome:
        answer = connection.request(
            "OPTIONS",
            f"{actions.CORS_PATH}/x",
            headers={"Origin": actions.CALLER, "Access-Control-Request-Method": "PUT"},
        )
        return Kind.PREFLIGHT, answer.status, served_by(answer), "", ""

    def _service(self, connection: Connection) -> Outcome:
        service = self.pools.service
        answer = connection.request(
            "GET",
            f"{actions.SERVICE_PATH}/x",
            headers={
                "CF-Access-Client-Id": service["client_id"],
                "CF-Access-Client-Secret": service["client_secret"],
            },
        )
        return Kind.SERVICE, answer.status, served_by(answer), service["client_id"], ""

    def _sign_in(self, connection: Connection) -> Outcome:
        """A password sign-in as a browser makes it: the gate's redirect, the login page, the
        form, the hop back to the application; the app cookie joins the sessions."""
        username = self.random.choice(self.pools.signers)
        page_headers = {
            "Accept": "text/html",
            "Sec-Fetch-Mode": "navigate",
            "Sec-Fetch-Site": "none",
        }
        gate = connection.request("GET", f"{actions.MAIN_PATH}/signed-in", headers=page_headers)
        if gate.status != 302:
            return Kind.SIGN_IN, gate.status, served_by(gate), "", ""
        app_session = gate.cookies.get("CF_AppSession", "")
        login = urlsplit(gate.headers["location"])
        login_path = f"{login.path}?{login.query}"
        page = connection.request("GET", login_path, headers=page_headers)
        found = _CSRF_FIELD.search(page.body.decode(errors="replace"))
        if page.status != 200 or found is None:
            return Kind.SIGN_IN, page.status or 599, None, "", ""
        csrf_cookie = page.cookies.get("csrftoken", "")
        form = {
            **_query(login.query),
            "step": "password",
            "username": username,
            "password": actions.PASSWORD,
            "csrfmiddlewaretoken": found.group(1),
        }
        posted = connection.request(
            "POST",
            login_path,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={csrf_cookie}",
                "Origin": f"http://{HOST}",
                "Sec-Fetch-Site": "same-origin",
                "Sec-Fetch-Mode": "navigate",
            },
            body=urlencode(form).encode(),
        )
        if posted.status != 302:
            return Kind.SIGN_IN, posted.status, None, "", ""
        hop = urlsplit(posted.headers["location"])
        back = connection.request(
            "GET",
            f"{hop.path}?{hop.query}",
            headers={**page_headers, "Cookie": f"CF_AppSession={app_session}"},
        )
        token = back.cookies.get("CF_Authorization", "")
        if back.status != 302 or not token:
            return Kind.SIGN_IN, back.status, None, "", ""
        claims = token_claims(token)
        session = Session(
            email=str(claims["email"]), token=token, nonce=str(claims["identity_nonce"])
        )
        with self.pools.lock:
            self.pools.signed_in.append(session)
        self.recorder.record("sign_ins", {"email": session.email, "nonce": session.nonce})
        return Kind.SIGN_IN, back.status, None, session.email, session.nonce

    def _logout(self, connection: Connection) -> Outcome:
        """Log out one of this run's sign-ins; its cookie is replayed from then on."""
        with self.pools.lock:
            if not self.pools.signed_in:
                session = None
            else:
                session = self.pools.signed_in.pop(self.random.randrange(len(self.pools.signed_in)))
        if session is None:
            return self._protected(connection)
        try:
            answer = connection.request(
                "GET",
                "/cdn-cgi/access/logout",
                headers={
                    **_cookie(session.token),
                    "Accept": "text/html",
                    "Sec-Fetch-Mode": "navigate",
                },
            )
        except (OSError, http.client.HTTPException):
            answer = None
        if answer is None or answer.status != 200:
            with self.pools.lock:  # not logged out: still a session to use and log out later
                self.pools.signed_in.append(session)
            return Kind.LOGOUT, answer.status if answer else 0, None, session.email, session.nonce
        self.recorder.change(What.LOGOUT, session.nonce)
        self.recorder.record("logouts", {"email": session.email, "nonce": session.nonce})
        with self.pools.lock:
            self.pools.logged_out.append(session)
        return Kind.LOGOUT, answer.status, None, session.email, session.nonce


def _query(query: str) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(query, keep_blank_values=True))


class Load:
    """Start `threads` request workers and one of sign-ins and logouts; `stop` waits for them."""

    def __init__(
        self,
        ports: Mapping[str, int],
        pools: Pools,
        recorder: Recorder,
        *,
        threads: int,
        interval: float,
        flow_interval: float,
    ) -> None:
        self.stopping = threading.Event()
        self.workers = [
            Worker(
                ports,
                pools,
                recorder,
                self.stopping,
                mix=REQUEST_MIX,
                interval=interval,
                seed=index,
            )
            for index in range(threads)
        ]
        self.workers.append(
            Worker(
                ports,
                pools,
                recorder,
                self.stopping,
                mix=FLOW_MIX,
                interval=flow_interval,
                seed=threads,
            )
        )

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def stop(self) -> None:
        self.stopping.set()
        for worker in self.workers:
            worker.join(timeout=TIMEOUT * 2)
