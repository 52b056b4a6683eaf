"""ASGI entry point. A serving process watches the configuration versions on a thread of its own
(`common.versioning.watcher`), so its request handlers read only memory."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accessproject.settings")

application = get_asgi_application()

from common.versioning import watcher  # noqa: E402  (needs Django set up)

# Started by each process's first request, not here.
watcher.enable()
