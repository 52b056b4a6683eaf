"""A logout storm: people signing out `RATE` times a second, from a process of their own.

`python -m tests.bench.storm RATE SECONDS` runs in the benchmark's environment (same database and
cache as the gunicorn workers) and, at a steady pace, records a sign-in and revokes it with
`identity.sessions.sessions_revoke_for_nonce`, the work `/cdn-cgi/access/logout` does. It prints
how many logouts it made, so the benchmark can check the storm really blew. With SQLite a write
that meets another process's write (the workers' activity counts) is refused at once as "database
is locked"; such a logout is tried again.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta


def main() -> None:
    import django

    django.setup()
    from django.db import OperationalError
    from django.utils import timezone

    from identity.sessions import new_identity_nonce, session_create, sessions_revoke_for_nonce
    from policies.models import Application

    rate = float(sys.argv[1])
    seconds = float(sys.argv[2])
    application = Application.objects.order_by("pk").first()
    period = 1 / rate
    started = time.monotonic()
    logouts = 0
    while time.monotonic() - started < seconds:
        now = timezone.now()
        nonce = new_identity_nonce()
        try:
            session_create(
                email=f"leaver{logouts}@example.com",
                application=application,
                identity_nonce=nonce,
                login_method="bench",
                issued_at=now,
                expires_at=now + timedelta(hours=1),
            )
            logouts += sessions_revoke_for_nonce(nonce, actor="bench storm")
        except OperationalError:  # "database is locked": the next turn tries again
            time.sleep(period / 10)
            continue
        pause = started + (logouts + 1) * period - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    print(json.dumps({"logouts": logouts, "seconds": time.monotonic() - started}))


if __name__ == "__main__":
    main()
