"""Sending Celery tasks by name.

Services enqueue work through here instead of importing ``tasks`` (which imports the
services it wraps), so imports run one way: tasks -> services -> dispatch. The names are
checked against the registered tasks by a test.
"""

from __future__ import annotations

INDEX_ITEMS = "media_index.tasks.index_items"
EMBED_INTO_SPACE = "media_index.tasks.embed_into_space"
BEGIN_REINDEX = "media_index.tasks.begin_reindex"
BUILD_SPACE_INDEX = "media_index.tasks.build_space_index"
REFRESH_CALIBRATION = "media_index.tasks.refresh_calibration"


def send(task: str, *args: object) -> None:
    """Publish ``task`` with ``args`` now, failing fast when the broker is down (callers
    decide what a failure means: indexing leaves items to the sweep)."""
    from celery import current_app

    current_app.send_task(task, args=list(args), retry=False)
