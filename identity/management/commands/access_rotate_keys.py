"""`manage.py access_rotate_keys`: make a new signing key current now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from common.audit import COMMAND, acting_as, os_user
from identity.keys import retire_previous_keys, rotate_keys


class Command(BaseCommand):
    help = (
        "Rotate the Access signing key: a new key signs from now on; the previous one keeps "
        "verifying tokens for 7 more days."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--retire-previous",
            action="store_true",
            help="A key leaked: also stop trusting every previous key now (their tokens fail at "
            "once, and people sign in again).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with acting_as(COMMAND, os_user()):
            self._rotate(options)

    def _rotate(self, options: dict[str, Any]) -> None:
        new_key = rotate_keys(reason="command")
        self.stdout.write(f"New signing key: {new_key.kid}")
        if options["retire_previous"]:
            count = retire_previous_keys(reason="command")
            self.stdout.write(f"Previous keys no longer trusted: {count}")
