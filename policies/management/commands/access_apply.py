"""`manage.py access_apply FILE [--dry-run] [--prune] [--nice N]`: make the configuration match a
file.

A large file keeps a CPU busy for a while (1,000 applications: about half a minute), often on a
host that also serves the gate; so the command lowers its own CPU priority while it plans and
applies (`--nice`, 10 by default, 0 to keep it), and the gate's workers answer requests first
(docs/reliability.md).
"""

from __future__ import annotations

import contextlib
import os
from argparse import ArgumentParser
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from common.audit import CONFIG_FILE, acting_as, os_user
from policies.configfile import ConfigFileError, apply_plan, load_file, plan_config


@contextlib.contextmanager
def lower_priority(increment: int) -> Iterator[None]:
    """Run the block `increment` steps nicer (at most 19), then go back where allowed."""
    if increment <= 0:
        yield
        return
    before = os.getpriority(os.PRIO_PROCESS, 0)
    os.setpriority(os.PRIO_PROCESS, 0, min(19, before + increment))
    try:
        yield
    finally:
        # Only a privileged process may raise its priority again; it ends soon anyway.
        with contextlib.suppress(PermissionError):
            os.setpriority(os.PRIO_PROCESS, 0, before)


class Command(BaseCommand):
    help = (
        "Apply a JSON or YAML configuration file (identity_providers, groups, service_tokens, "
        "applications with their policies): validate all of it, print the plan, then apply it "
        "in one transaction."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="The .json, .yaml or .yml file to apply.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the plan and change nothing."
        )
        parser.add_argument(
            "--prune", action="store_true", help="Also delete objects the file does not list."
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="With --prune: delete identity providers even if applications sign in with them.",
        )
        parser.add_argument(
            "--nice",
            type=int,
            default=10,
            choices=range(20),
            metavar="N",
            help="Lower this command's CPU priority by N (0-19, default 10) so that the gate's "
            "workers on the same host answer first; 0 keeps it.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with lower_priority(options["nice"]):
            self._apply(options)

    def _apply(self, options: dict[str, Any]) -> None:
        try:
            plan = plan_config(
                load_file(options["file"]), prune=options["prune"], force=options["force"]
            )
        except ConfigFileError as error:
            for line in error.errors:
                self.stderr.write(line)
            count = len(error.errors)
            plural = "s" if count != 1 else ""
            raise CommandError(
                f"{count} error{plural} in {options['file']}; nothing was changed."
            ) from error
        for line in plan.describe():
            self.stdout.write(self.style.WARNING(line) if line.startswith("warning:") else line)
        if options["dry_run"] or not plan.changes:
            if options["dry_run"]:
                self.stdout.write("dry run: nothing was changed")
            return
        try:
            with acting_as(CONFIG_FILE, os_user()):
                secrets = apply_plan(plan)
        except ValidationError as error:
            # Validation ran on the whole file first; this is a race with another writer.
            raise CommandError(f"nothing was changed: {error}") from error
        for line in secrets:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"applied {len(plan.changes)} change(s)"))
