"""Run one suite in this (fresh) process: ``python -m bench.runner <suite> [options]``.

Django is set up before the suite's module is imported, so a suite that uses the ORM can
import models at its top like any other module.
"""

from __future__ import annotations

import importlib
import sys

from bench import SUITES, setup_django


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in SUITES:
        print(f"usage: python -m bench.runner {{{','.join(SUITES)}}} [options]", file=sys.stderr)
        return 2
    suite = SUITES[argv[0]]
    if suite.django:
        setup_django()
    return importlib.import_module(f"bench.{suite.module}").main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
