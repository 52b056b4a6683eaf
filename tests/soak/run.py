"""`make soak`: faults under load, with figures.

Starts its own Redis and PostgreSQL (`tests.soak.services`), migrates and seeds a database, starts
two gunicorn instances over them and the load (`tests.soak.load`), then goes through the phases
on a schedule: a baseline; Redis stopped then started; PostgreSQL stopped then started; a worker
killed with SIGKILL and replaced by its master; a signing key rotated, a policy changed and a
person's sessions revoked through the other instance; an `access_apply` of a generated file of
applications. Afterwards it checks every record the run was told had been written, prints the
figures (`tests.soak.accounting`) and exits 1 when a target is missed.

SOAK_SCALE=full|short (short: about a minute of load, shorter faults, 100 applications);
SOAK_GATE=all|safety (safety: only fail-open, lost records and 500 fail the run).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.production.actions import HOST
from tests.production.servers import PROJECT_DIR, Instance
from tests.soak import actions
from tests.soak.accounting import (
    ENFORCEMENT_BOUND,
    Fault,
    Phase,
    exit_status,
    figures,
    format_report,
    targets,
)
from tests.soak.load import Load, Pools, Recorder, served_by_body
from tests.soak.oracle import Kind, What
from tests.soak.services import PostgresCluster, RedisServer, temporary_directory

WORKERS = 2  # per instance
PROBE_STREAK = 8  # answers in a row, per instance, that show a change is enforced
PROBE_GIVE_UP = 20.0
NEEDS_REDIS = frozenset({Kind.SIGN_IN})  # the sign-in throttles live in Redis
# Sign-ins and logouts write sessions and events; a service token's use is recorded once a minute.
NEEDS_POSTGRES = frozenset({Kind.SIGN_IN, Kind.LOGOUT, Kind.SERVICE})


@dataclass(frozen=True)
class Scale:
    people: int
    signers: int
    threads: int
    warm_up: float  # load before the baseline, in no phase: every worker has built its state
    interval: float  # seconds between one thread's requests
    flow_interval: float  # seconds between sign-ins or logouts
    baseline: float
    before: float  # quiet seconds at the start of each phase
    down: float  # how long a component stays away
    after: float  # seconds after each fault or change
    applications: int


SCALES = {
    "full": Scale(
        people=40,
        signers=10,
        threads=6,
        warm_up=10,
        interval=0.1,
        flow_interval=1.0,
        baseline=30,
        before=5,
        down=10,
        after=10,
        applications=1000,
    ),
    "short": Scale(
        people=12,
        signers=4,
        threads=4,
        warm_up=4,
        interval=0.1,
        flow_interval=1.0,
        baseline=8,
        before=2,
        down=3,
        after=4,
        applications=100,
    ),
}


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _run(environment: Mapping[str, str], *arguments: str, timeout: float = 1800) -> str:
    completed = subprocess.run(
        [sys.executable, *arguments],
        cwd=PROJECT_DIR,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed:\n{completed.stdout}{completed.stderr}")
    return completed.stdout


def action(environment: Mapping[str, str], *arguments: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(_run(environment, "-m", "tests.soak.actions", *arguments))
    return result


def enforced_after(
    observations: Sequence[tuple[str, float, bool]], instances: Sequence[str], *, streak: int
) -> float:
    """When every instance had begun a streak of `streak` enforcing answers that it kept to the
    end: the latest such start over the instances (inf when one never did).

    `observations` are (instance, seconds since the change, enforcing) in the order sent.
    """
    latest = 0.0
    for instance in instances:
        began: float | None = None
        run = 0
        for name, at, enforcing in observations:
            if name != instance:
                continue
            if enforcing:
                if run == 0:
                    began = at
                run += 1
            else:
                run, began = 0, None
        if began is None or run < streak:
            return float("inf")
        latest = max(latest, began)
    return latest


def probe(
    instances: Mapping[str, Instance], since: float, ask: Callable[[Instance], bool]
) -> float:
    """Ask each instance (a thread each, at once) whether the change is enforced until it says
    yes `PROBE_STREAK` times in a row; seconds from `since` (time.monotonic) until the last
    instance's streak began. Each answer counts at the moment its request was sent."""
    observations: list[tuple[str, float, bool]] = []
    lock = threading.Lock()

    def ask_until_settled(name: str) -> None:
        in_a_row = 0
        while in_a_row < PROBE_STREAK and time.monotonic() - since < PROBE_GIVE_UP:
            sent = time.monotonic() - since
            try:
                enforcing = ask(instances[name])
            except OSError:
                enforcing = False
            in_a_row = in_a_row + 1 if enforcing else 0
            with lock:
                observations.append((name, sent, enforcing))

    threads = [threading.Thread(target=ask_until_settled, args=(name,)) for name in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return enforced_after(observations, list(instances), streak=PROBE_STREAK)


def refused(path: str, token: str | None) -> Callable[[Instance], bool]:
    """A probe: the gate answers `path` (with `token`'s cookie) without running the view."""

    def ask(instance: Instance) -> bool:
        headers = {"Cookie": f"CF_Authorization={token}"} if token else {}
        answer = instance.request("GET", path, host=HOST, headers=headers)
        return answer.status != 200 or served_by_body(answer.headers, answer.body) is None

    return ask


def signs_with(kid: str) -> Callable[[Instance], bool]:
    def ask(instance: Instance) -> bool:
        answer = instance.request("GET", "/cdn-cgi/access/certs", host=HOST)
        return answer.status == 200 and json.loads(answer.body)["public_cert"].get("kid") == kid

    return ask


class Soak:
    def __init__(self, scale: Scale, directory: Path) -> None:
        self.scale = scale
        self.directory = directory
        self.redis = RedisServer(directory)
        self.postgres = PostgresCluster()
        self.instances: dict[str, Instance] = {}
        self.recorder = Recorder()
        self.phases: list[Phase] = []
        self.environment: dict[str, str] = {}
        self.seeded: dict[str, Any] = {}
        self.bulk = 0

    # Servers

    def start(self) -> None:
        say(f"soak: PostgreSQL and Redis in {self.directory}")
        self.postgres.init()
        self.redis.start()
        data_dir = self.directory / "data"
        data_dir.mkdir()
        self.environment = {
            "DJANGO_SETTINGS_MODULE": "accessproject.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": f"{HOST},127.0.0.1",
            "ACCESS_DEMO": "1",
            "ACCESS_DATA_DIR": str(data_dir),
            "ACCESS_TEAM_DOMAIN": "",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "DATABASE_URL": self.postgres.url,
            "CACHE_URL": self.redis.url,
            "WEB_CONCURRENCY": str(WORKERS),
            "LOG_LEVEL": "WARNING",
            "GUNICORN_LOG_LEVEL": "warning",
        }
        say("soak: migrating and seeding")
        _run(self.environment, "manage.py", "migrate", "--noinput")
        _run(self.environment, "manage.py", "collectstatic", "--noinput")
        self.seeded = action(
            self.environment, "seed", str(self.scale.people), str(self.scale.signers)
        )
        for name in ("a", "b"):
            self.instances[name] = Instance(name, self.environment, self.directory).start()
        say("soak: instances a and b are up")

    def stop(self) -> None:
        for instance in self.instances.values():
            with contextlib.suppress(Exception):
                instance.stop()
        with contextlib.suppress(Exception):
            self.redis.stop()
        with contextlib.suppress(OSError):
            shutil.copy(self.postgres.log_path, self.directory)  # kept with the others
        self.postgres.remove()

    # Phases

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[dict[str, Any]]:
        say(f"soak: phase {name}")
        began = self.recorder.now()
        state: dict[str, Any] = {"fault": None, "enforcement": {}, "notes": []}
        yield state
        self.phases.append(
            Phase(
                name=name,
                began=began,
                ended=self.recorder.now(),
                fault=state["fault"],
                enforcement=state["enforcement"],
                notes=tuple(state["notes"]),
            )
        )

    def _outage(
        self,
        name: str,
        component: str,
        stop: Callable[[], None],
        start: Callable[[], None],
        needs: frozenset[Kind],
    ) -> None:
        scale = self.scale
        with self.phase(name) as state:
            time.sleep(scale.before)
            began = self.recorder.now()
            stop()
            time.sleep(scale.down)
            start()
            ended = self.recorder.now()
            state["fault"] = Fault(component, began, ended, needs)
            state["notes"].append(f"{component} away for {ended - began:.1f} s")
            time.sleep(scale.after)

    def baseline(self) -> None:
        with self.phase("baseline"):
            time.sleep(self.scale.baseline)

    def redis_outage(self) -> None:
        self._outage("redis", "Redis", self.redis.stop, self.redis.start, NEEDS_REDIS)

    def postgres_outage(self) -> None:
        self._outage(
            "postgres", "PostgreSQL", self.postgres.stop, self.postgres.start, NEEDS_POSTGRES
        )

    def worker_kill(self) -> None:
        instance = self.instances["a"]
        with self.phase("worker kill") as state:
            time.sleep(self.scale.before)
            before = worker_pids(instance)
            victim = sorted(before)[0]
            began = self.recorder.now()
            os.kill(victim, signal.SIGKILL)
            while True:
                now = worker_pids(instance)
                if len(now) >= WORKERS and victim not in now:
                    break
                if self.recorder.now() - began > 60:
                    raise RuntimeError("the killed worker was not replaced within 60 s")
                time.sleep(0.005)
            ended = self.recorder.now()
            state["fault"] = Fault("a worker", began, ended, frozenset(Kind))
            state["notes"].append(f"worker {victim} killed, replaced in {ended - began:.3f} s")
            time.sleep(self.scale.after)

    def _api(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """An administrator's API call through instance b."""
        answer = self.instances["b"].request(
            method,
            path,
            host=HOST,
            headers={
                "Authorization": f"Bearer {self.seeded['api_token']}",
                "Content-Type": "application/json",
            },
            body=json.dumps(body).encode() if body is not None else None,
        )
        if not 200 <= answer.status < 300:
            raise RuntimeError(f"{method} {path}: {answer.status} {answer.body[:500]!r}")
        result: dict[str, Any] = json.loads(answer.body)["result"]
        return result

    def changes(self) -> None:
        seeded = self.seeded
        recorder = self.recorder
        with self.phase("changes") as state:
            time.sleep(self.scale.before)
            enforcement = state["enforcement"]

            keys = self._api("POST", "/api/access/keys/rotate")
            since = time.monotonic()
            kid = current_kid(keys)
            recorder.change(What.ROTATION, kid)
            recorder.record("rotations", kid)
            enforcement["key rotation"] = probe(self.instances, since, signs_with(kid))

            self._api(
                "PATCH",
                f"/api/access/apps/{seeded['policy_app_id']}/policies/{seeded['policy_id']}",
                {"include": [{"email_domain": {"domain": actions.KEPT_DOMAIN}}]},
            )
            since = time.monotonic()
            recorder.change(What.POLICY, actions.DROPPED_DOMAIN)
            recorder.record("policy_updates", {"policy_id": seeded["policy_id"]})
            dropped = next(
                person
                for person in seeded["sessions"]
                if person["email"].endswith(actions.DROPPED_DOMAIN)
            )
            enforcement["policy change"] = probe(
                self.instances,
                since,
                refused(f"{actions.POLICY_PATH}/probe", dropped["policy"]["token"]),
            )

            revoked = seeded["revoked"]
            cutoff = self._api("POST", "/api/access/sessions/revoke", {"email": revoked["email"]})
            since = time.monotonic()
            recorder.change(What.REVOCATION, revoked["email"])
            recorder.record("revocations", {"email": revoked["email"], "cutoff_id": cutoff["id"]})
            enforcement["revocation"] = probe(
                self.instances, since, refused(f"{actions.MAIN_PATH}/probe", revoked["token"])
            )
            time.sleep(self.scale.after)

    def apply(self) -> None:
        count = self.scale.applications
        with self.phase("access_apply") as state:
            path = self.directory / "applications.json"
            action(self.environment, "bulk-file", str(count), str(path))
            time.sleep(self.scale.before)
            began = time.monotonic()
            _run(self.environment, "manage.py", "access_apply", str(path))
            since = time.monotonic()
            self.recorder.change(What.APPLY, actions.BULK_PATH)
            self.bulk = count
            state["notes"].append(
                f"access_apply of {count} applications took {since - began:.1f} s"
            )
            state["enforcement"][f"{count} applications"] = probe(
                self.instances, since, refused(f"{actions.BULK_PATH}/{count - 1}/probe", None)
            )
            time.sleep(self.scale.after)

    def run(self, gate: str) -> int:
        scale = self.scale
        pools = Pools.of(self.seeded)
        load = Load(
            {name: instance.port for name, instance in self.instances.items()},
            pools,
            self.recorder,
            threads=scale.threads,
            interval=scale.interval,
            flow_interval=scale.flow_interval,
        )
        self.recorder.began = time.monotonic()
        load.start()
        try:
            time.sleep(scale.warm_up)
            self.baseline()
            self.redis_outage()
            self.postgres_outage()
            self.worker_kill()
            self.changes()
            self.apply()
        finally:
            load.stop()
        told = self.directory / "records.json"
        told.write_text(json.dumps({**self.recorder.records, "bulk": self.bulk}))
        verified = action(self.environment, "verify", str(told))
        recorder = self.recorder
        results = [
            figures(phase, recorder.sent, recorder.changes, bound=ENFORCEMENT_BOUND)
            for phase in self.phases
        ]
        found = targets(self.phases, results, missing_records=verified["missing"])
        checked = ", ".join(f"{count} {name}" for name, count in verified["checked"].items())
        print(f"records checked afterwards: {checked}; missing: {len(verified['missing'])}")
        for line in verified["missing"]:
            print(f"  missing: {line}")
        print(format_report(self.phases, results, found, gate=gate))
        return exit_status(found, gate=gate)


def current_kid(keys: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> str:
    """The current key's kid in the keys API's answer."""
    listed = keys["keys"] if isinstance(keys, Mapping) else keys
    for key in listed:
        if key.get("current") or key.get("status") == "current":
            return str(key["kid"])
    raise RuntimeError(f"no current key in {keys!r}")


def worker_pids(instance: Instance) -> set[int]:
    """The live worker processes of an instance's gunicorn master."""
    master = instance._process.pid if instance._process is not None else -1  # noqa: SLF001
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def main() -> None:
    scale_name = os.environ.get("SOAK_SCALE", "full")
    gate = os.environ.get("SOAK_GATE", "all")
    if scale_name not in SCALES:
        raise SystemExit(f"SOAK_SCALE must be one of {sorted(SCALES)}, not {scale_name!r}")
    exit_status([], gate=gate)  # refuses a gate it does not know before anything starts
    directory = temporary_directory()
    soak = Soak(SCALES[scale_name], directory)
    # SIGTERM (CI cancelled) unwinds through `finally` like Ctrl-C: the servers are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    status = 1
    try:
        soak.start()
        status = soak.run(gate)
    finally:
        soak.stop()
        if status == 0:
            shutil.rmtree(directory, ignore_errors=True)
        else:
            say(f"soak: logs kept in {directory}")
    sys.exit(status)


if __name__ == "__main__":
    main()
