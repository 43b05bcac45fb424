"""Read replicas: search reads go to a streaming replica, everything else to the primary.

``DATABASE_REPLICA_URLS`` (settings) adds one database alias per replica, ``replica1``,
``replica2``…; with none, every function here is a no-op and all reads stay on
``default``. Only search is routed (``search_reads``): its HNSW and BM25 queries are
the read load that grows with the collection, while pages that list a user's own items
or change them must see the latest state and stay on the primary.

Read-your-writes: a user who has just changed something (an upload, a deletion, an
item becoming ready after indexing) must find it at once. Every such write records the
primary's WAL position (LSN) for that user in the cache (``note_write``); a search by
that user uses a replica only once the replica has replayed past that position
(``pg_last_wal_replay_lsn()``), else the primary. Other users read the replica at once,
and see the change after the replica's lag (usually well under a second). The marker
lives in Django's cache, which must be shared between processes (``CACHE_URL`` pointing
at Redis) when there are replicas; a system check says so.

A replica that cannot be reached is skipped for a while (``REPLICA_RETRY_SECONDS``) and
the search runs on the primary: a replica outage costs capacity, never an error page.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger(__name__)

REPLICA_PREFIX = "replica"
_read_alias: ContextVar[str | None] = ContextVar("media_index_read_alias", default=None)
# alias -> monotonic time until which it is skipped after a failure (per process).
_unavailable_until: dict[str, float] = {}

P = ParamSpec("P")
R = TypeVar("R")


def replica_aliases() -> list[str]:
    """The configured replicas' database aliases (empty without DATABASE_REPLICA_URLS)."""
    return [alias for alias in settings.DATABASES if alias.startswith(REPLICA_PREFIX)]


def read_alias() -> str:
    """The database the current search reads from (``default`` outside ``search_reads``)."""
    return _read_alias.get() or DEFAULT_DB_ALIAS


def read_connection() -> BaseDatabaseWrapper:
    """The connection raw search SQL runs on (see ``read_alias``)."""
    return connections[read_alias()]


def _marker_key(user_id: int) -> str:
    return f"replicas:last-write-lsn:{user_id}"


def note_write(user_ids: Iterable[int | None]) -> None:
    """Record the primary's current WAL position as these users' last write (after the
    write committed), so their next searches wait for a replica that has replayed it."""
    users = {user_id for user_id in user_ids if user_id is not None}
    if not users or not replica_aliases():
        return
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        lsn = cursor.fetchone()[0]
    cache.set_many({_marker_key(user_id): lsn for user_id in users}, timeout=settings.REPLICA_READ_YOUR_WRITES_SECONDS)


def _replica_ready(alias: str, lsn: str | None) -> bool:
    """Whether the replica answers and (when ``lsn`` is given) has replayed up to it."""
    if _unavailable_until.get(alias, 0.0) > time.monotonic():
        return False
    try:
        with connections[alias].cursor() as cursor:
            if lsn is None:
                cursor.execute("SELECT 1")
                return True
            cursor.execute("SELECT coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, true)", [lsn])
            return bool(cursor.fetchone()[0])
    except DatabaseError:
        logger.warning("Read replica %s is unreachable; searching on the primary for %ss", alias,
                       settings.REPLICA_RETRY_SECONDS, exc_info=True)  # fmt: skip
        _unavailable_until[alias] = time.monotonic() + settings.REPLICA_RETRY_SECONDS
        connections[alias].close()
        return False


def choose_read_alias(viewer: AbstractBaseUser | AnonymousUser) -> str:
    """A replica for this viewer's search (one that has replayed their last write), else
    the primary. Replicas are tried in random order, which spreads the load."""
    aliases = replica_aliases()
    if not aliases:
        return DEFAULT_DB_ALIAS
    lsn = cache.get(_marker_key(viewer.pk)) if viewer.is_authenticated else None
    for alias in random.sample(aliases, len(aliases)):
        if _replica_ready(alias, lsn):
            return alias
    return DEFAULT_DB_ALIAS


@contextmanager
def search_reads(viewer: AbstractBaseUser | AnonymousUser) -> Iterator[str]:
    """Route the reads inside to a replica chosen for ``viewer`` (see the module)."""
    if _read_alias.get() is not None:  # nested: keep the outer choice
        yield _read_alias.get()
        return
    token = _read_alias.set(choose_read_alias(viewer))
    try:
        yield _read_alias.get()
    finally:
        _read_alias.reset(token)


def on_replica(function: Callable[P, R]) -> Callable[P, R]:
    """Run a search service function (``viewer`` keyword) inside ``search_reads``."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with search_reads(kwargs["viewer"]):  # type: ignore[arg-type]
            return function(*args, **kwargs)

    return wrapper


class ReplicaRouter:
    """Django database router: ORM reads inside ``search_reads`` go to the chosen
    replica; all writes, migrations and every other read go to the primary."""

    def db_for_read(self, model: type, **hints: object) -> str | None:
        return _read_alias.get()

    def db_for_write(self, model: type, **hints: object) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: object, obj2: object, **hints: object) -> bool:
        return True  # the replicas hold the same rows as the primary

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: object) -> bool:
        return db == DEFAULT_DB_ALIAS


def check_shared_cache(app_configs: object = None, **kwargs: object) -> list:
    """System check: read-your-writes needs a cache every process shares."""
    from django.core import checks

    backend = settings.CACHES["default"]["BACKEND"]
    if replica_aliases() and ("locmem" in backend or "dummy" in backend):
        return [checks.Warning(
            "DATABASE_REPLICA_URLS is set but the cache is per process, so a user's searches in another "
            "process may miss their own last upload until the replica catches up.",
            hint="Point CACHE_URL at the Redis every web and worker process shares, e.g. redis://redis:6379/1.",
            id="media_index.W001",
        )]  # fmt: skip
    return []
