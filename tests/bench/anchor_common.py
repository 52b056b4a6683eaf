"""What the benchmark's Django anchors share: the same host, secret and tiny view as the project.

The anchors are plain Django projects, not accessproject: each `settings_*` module beside this one
is a throwaway settings module that `make bench` serves with gunicorn next to the project, so
every ratio is measured in one interleaved run against the same kind of tiny view.
"""

import os

SECRET_KEY = os.environ.get("SECRET_KEY", "bench-" + "k" * 50)
DEBUG = False
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "bench.localhost").split(",")
ROOT_URLCONF = "tests.bench.urls"
WSGI_APPLICATION = "tests.bench.anchor_wsgi.application"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATA_DIR = os.environ.get("ACCESS_DATA_DIR", "/tmp")
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(DATA_DIR, "anchor.sqlite3"),
    }
}

# `django-admin startproject`'s stack, in its order.
DEFAULT_INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
DEFAULT_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
DEFAULT_TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
