"""Tasks are sent by name (media_index.dispatch): every name is a registered task."""

from __future__ import annotations

import pytest

from media_index import dispatch


@pytest.mark.parametrize("name", [dispatch.INDEX_ITEMS, dispatch.EMBED_INTO_SPACE, dispatch.BEGIN_REINDEX,
                                  dispatch.BUILD_SPACE_INDEX])
def test_every_dispatched_name_is_a_registered_task(name: str) -> None:
    import media_index.tasks  # noqa: F401 - registers the tasks
    from searchsite.celery import app

    assert name in app.tasks
