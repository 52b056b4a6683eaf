"""Seed the demo idempotently: an administrator and the demo applications."""

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "access.yaml"


class Command(BaseCommand):
    help = "Create the demo administrator and applications (safe to run again: changes nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args: Any, **options: Any) -> None:
        username = os.environ.get("ACCESS_DEMO_ADMIN", "admin")
        email = os.environ.get("ACCESS_DEMO_ADMIN_EMAIL", "admin@example.com")
        password = os.environ.get("ACCESS_DEMO_PASSWORD") or _stored_password()
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={"email": email, "is_staff": True, "is_superuser": True},
        )
        if created or not user.check_password(password):
            user.set_password(password)
            user.save()
        call_command("access_apply", str(DEMO_CONFIG), stdout=self.stdout)

        base = f"http://{options['host']}:{options['port']}"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "accessproject demo is ready:",
                    f"  protected page   {base}/demo/",
                    f"  echo (CORS API)  {base}/demo/echo/api/hello",
                    f"  admin            {base}/admin/  (user {username!r}, password {password!r})",
                    "  sign in with that user's password, or with a one-time PIN sent to any",
                    "  address at example.com (the PIN is printed on this console).",
                    "",
                ]
            )
        )


def _stored_password() -> str:
    """A random demo password, generated once and kept in the git-ignored data folder."""
    path = Path(settings.DATA_DIR) / "demo-admin-password"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    path.write_text(password + "\n")
    path.chmod(0o600)
    return password
