"""Settings of a small shop that protects its own views with accessproject.

The first part is what `django-admin startproject` writes; the blocks between the
`# accessproject` markers are docs/protect-your-service.md's snippets, word for word
(tests/test_docs.py holds the two to each other). `SHOP_MISTAKE` makes one of the mistakes the
system checks catch.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = os.environ["ALLOWED_HOSTS"].split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "shop.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
WSGI_APPLICATION = "shop.wsgi.application"
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["SHOP_DATABASE"]}
}
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SECURE_SSL_REDIRECT = False  # served over plain HTTP on loopback by the tests

# accessproject: the apps, the gate and its settings
INSTALLED_APPS += ["rest_framework", "common", "policies", "identity"]
# The gate goes right after SecurityMiddleware: before sessions and authentication.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "identity.middleware.AccessGateMiddleware",
)
ACCESS_TEAM_DOMAIN = os.environ.get("ACCESS_TEAM_DOMAIN", "")
ACCESS_TRUSTED_PROXIES = os.environ.get("ACCESS_TRUSTED_PROXIES", "")
# end of accessproject

# accessproject, optional: the person who passed the gate is request.user
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "identity.users.AccessUserBackend",
]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "identity.users.AccessUserMiddleware",
)
# end of accessproject

GATE = "identity.middleware.AccessGateMiddleware"
if os.environ.get("SHOP_MISTAKE") == "gate-after-authentication":
    MIDDLEWARE.remove(GATE)
    MIDDLEWARE.insert(MIDDLEWARE.index("identity.users.AccessUserMiddleware"), GATE)
elif os.environ.get("SHOP_MISTAKE") == "no-gate":
    MIDDLEWARE.remove(GATE)
