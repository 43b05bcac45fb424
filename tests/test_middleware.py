"""With the database unreachable, pages and the API answer 503 with a message, then recover."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def database_down(tmp_path) -> Iterator[Callable[[], None]]:  # noqa: ANN001
    """Point the connection at a socket folder where no server listens; yields a "bring it back"."""
    original = connection.settings_dict["HOST"]

    def restore() -> None:
        connection.close()
        connection.settings_dict["HOST"] = original

    connection.close()
    connection.settings_dict["HOST"] = str(tmp_path)
    try:
        yield restore
    finally:
        restore()


def test_api_and_pages_answer_503_with_a_message(client, database_down) -> None:
    api = client.get("/api/v1/spaces/")
    page = client.get("/?q=puppy")

    assert api.status_code == 503
    assert api.json()["error"]["code"] == "service_unavailable"
    assert api["Retry-After"]
    assert page.status_code == 503
    assert "The database is not reachable right now" in page.content.decode()


def test_the_site_recovers_without_a_restart(client, database_down) -> None:
    assert client.get("/api/v1/spaces/").status_code == 503

    database_down()

    assert client.get("/api/v1/spaces/").status_code == 200
    assert client.get("/").status_code == 200
