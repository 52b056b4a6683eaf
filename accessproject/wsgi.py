"""WSGI entry point: `gunicorn accessproject.wsgi`.

The gate's preflight fast path wraps Django's handler (docs/architecture.md, Fast paths):
preflights of applications with `cors_headers` are answered before Django builds its request
cycle.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accessproject.settings")

django_application = get_wsgi_application()

from identity.fastpath import PreflightFastPath  # noqa: E402  (needs Django set up)

application = PreflightFastPath(django_application)
