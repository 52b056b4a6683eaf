"""WSGI entry point: `gunicorn accessproject.wsgi`.

The gate's preflight fast path wraps Django's handler (docs/architecture.md, Fast paths):
preflights of applications with `cors_headers` are answered before Django builds its request
cycle. A serving process watches the configuration versions on a thread of its own
(`common.versioning.watcher`), so its request threads read only memory.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accessproject.settings")

django_application = get_wsgi_application()

from common.versioning import watcher  # noqa: E402  (needs Django set up)
from identity.fastpath import PreflightFastPath  # noqa: E402

# Started by each process's first request (after gunicorn forks its workers), not here.
watcher.enable()

application = PreflightFastPath(django_application)
