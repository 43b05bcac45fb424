"""Read replicas (media_index/replicas.py) against a real streaming replica: a second
embedded PostgreSQL made with pg_basebackup from the test database's server and run as a
hot standby (devstack.embedded_replica). Pausing its WAL replay makes the lag visible on
demand: what the primary holds and the replica does not yet tells which one a search read.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import environ
import pytest
from django.db import connections
from django.db.utils import load_backend
from rest_framework.test import APIClient

from devstack import embedded_replica
from media_index import replicas
from media_index.models import Item
from media_index.replicas import choose_read_alias
from media_index.services.indexing import items_index
from tests.factories import api_key

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ALIAS = "replica1"


@dataclass
class Replica:
    alias: str
    stop: ExitStack

    def execute(self, sql: str) -> object:
        with connections[self.alias].cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0]

    def catch_up(self, timeout: float = 30.0) -> None:
        """Wait until the replica has replayed everything the primary has written."""
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            target = cursor.fetchone()[0]
        deadline = time.monotonic() + timeout
        while not self.execute(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"):
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.05)


@pytest.fixture
def replica(transactional_db, settings, tmp_path) -> Iterator[Replica]:  # noqa: ANN001
    """A streaming replica of the test database's server, known to Django as replica1
    (as DATABASE_REPLICA_URLS would name it) for this test only."""
    primary = connections["default"].settings_dict
    stack = ExitStack()
    url = stack.enter_context(embedded_replica(
        primary_socket_dir=primary["HOST"], primary_port=int(primary["PORT"] or 5432),
        data_dir=tmp_path / "replica", database=primary["NAME"],
    ))  # fmt: skip
    config = connections.configure_settings({"default": primary, ALIAS: environ.Env.db_url_config(url)})[ALIAS]
    with warnings.catch_warnings():  # "Overriding setting DATABASES": only replica_aliases() reads it here
        warnings.simplefilter("ignore")
        settings.DATABASES = {**settings.DATABASES, ALIAS: config}
    # A connection made here rather than from the settings Django started with: the test
    # framework allows such "dynamically created" connections next to the test database.
    setattr(connections._connections, ALIAS, load_backend(config["ENGINE"]).DatabaseWrapper(config, ALIAS))
    try:
        yield Replica(ALIAS, stack)
    finally:
        connections[ALIAS].close()
        delattr(connections._connections, ALIAS)
        stack.close()
        replicas._unavailable_until.pop(ALIAS, None)  # a stopped replica is not remembered past its test


def _client(user) -> APIClient:  # noqa: ANN001
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user)}")
    return client


def _found(client: APIClient, query: str) -> list[int]:
    response = client.get("/api/v1/search/", {"q": query, "mode": "lexical"})
    assert response.status_code == 200, response.content
    return [result["id"] for result in response.json()["results"]]


def test_searches_read_the_replica_and_the_uploader_reads_their_own_write(replica, django_user_model) -> None:
    alice = django_user_model.objects.create_user("alice", password="pw")
    bob = django_user_model.objects.create_user("bob", password="pw")
    first = _client(alice).post("/api/v1/items/", {"text": "Rain all week.", "visibility": "public"}, format="json")
    items_index(item_ids=[first.json()["id"]])  # the collection and its space exist on both servers
    replica.catch_up()
    assert replica.execute("SELECT pg_is_in_recovery()") is True

    # The replica stops replaying: whatever is written now exists on the primary only.
    replica.execute("SELECT pg_wal_replay_pause()")
    created = _client(alice).post("/api/v1/items/", {"text": "A penguin stole my sandwich at the harbour.",
                                                       "visibility": "public"}, format="json")  # fmt: skip
    assert created.status_code == 201, created.content
    item_id = created.json()["id"]
    assert items_index(item_ids=[item_id]).ready == [item_id]  # what the worker does
    assert not Item.objects.using(ALIAS).filter(pk=item_id).exists()

    # Bob's search reads the replica, which does not hold the note yet...
    assert choose_read_alias(bob) == ALIAS
    assert item_id not in _found(_client(bob), "penguin")
    # ...while Alice, who wrote it, is searched on the primary and finds it at once.
    assert choose_read_alias(alice) == "default"
    assert item_id in _found(_client(alice), "penguin")

    # Replay resumes: the replica catches up, Bob finds the note, Alice reads the replica again.
    replica.execute("SELECT pg_wal_replay_resume()")
    replica.catch_up()
    assert item_id in _found(_client(bob), "penguin")
    assert choose_read_alias(alice) == ALIAS


def test_a_replica_that_is_down_sends_searches_to_the_primary(replica, django_user_model) -> None:
    bob = django_user_model.objects.create_user("bob", password="pw")
    note = _client(bob).post("/api/v1/items/", {"text": "Winter tyres for the car."}, format="json").json()
    items_index(item_ids=[note["id"]])
    replica.catch_up()
    assert choose_read_alias(bob) == ALIAS

    connections[ALIAS].close()
    replica.stop.close()  # the replica's server stops

    assert choose_read_alias(bob) == "default"
    assert note["id"] in _found(_client(bob), "tyres")
