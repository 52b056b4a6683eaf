"""WSGI entry point of the benchmark's Django anchors: Django's own handler, nothing around it."""

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
