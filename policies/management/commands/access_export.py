"""`manage.py access_export [--format yaml|json] [--output FILE]`: the configuration as a file."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from policies.configfile import dump_text, export_config


class Command(BaseCommand):
    help = (
        "Write the stored configuration in the access_apply format (no secrets); applying the "
        "result changes nothing."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--format", choices=["yaml", "json"], default=None)
        parser.add_argument(
            "--output", type=Path, default=None, help="Write here instead of standard output."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        output: Path | None = options["output"]
        syntax = options["format"] or (
            "json" if output is not None and output.suffix.lower() == ".json" else "yaml"
        )
        text = dump_text(export_config(), json_syntax=syntax == "json")
        if output is None:
            self.stdout.write(text, ending="")
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as error:
            raise CommandError(f"cannot write {output}: {error}") from error
