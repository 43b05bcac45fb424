"""``python manage.py bench <suite> [options]``: the benchmarks' one entry point.

The suites live outside the runtime app, in the ``bench`` package at the top of the
repository (its docstring lists them); this command only starts ``python -m bench`` with
the same arguments, so the site's code never imports benchmark code.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any, NoReturn

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def _forward(arguments: list[str]) -> int:
    return subprocess.run([sys.executable, "-m", "bench", *arguments], cwd=settings.BASE_DIR, check=False).returncode


class Command(BaseCommand):
    help = "Run a benchmark suite: python manage.py bench <suite> [options]; --list shows the suites."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("bench_args", nargs="*", help="the suite and its options (python -m bench --help)")

    def run_from_argv(self, argv: list[str]) -> NoReturn:
        # From the command line every argument, --help and --list included, belongs to the suites.
        sys.exit(_forward(argv[2:]))

    def handle(self, *args: Any, **options: Any) -> None:
        code = _forward(options["bench_args"])
        if code:
            raise CommandError(f"python -m bench {' '.join(options['bench_args'])} exited with status {code}")
