"""`manage.py access_rotate_keys`: make a new signing key current now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from identity.keys import rotate_keys


class Command(BaseCommand):
    help = (
        "Rotate the Access signing key: a new key signs from now on; the previous one keeps "
        "verifying tokens for 7 more days."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        new_key = rotate_keys(reason="command")
        self.stdout.write(f"New signing key: {new_key.kid}")
