"""Where a request's time goes: stage durations sent back as a ``Server-Timing`` header.

``ServerTimingMiddleware`` opens a collector per request; code wraps its stages in
``timed("embed")``, ``timed("dense")``... and the response carries
``Server-Timing: embed;dur=6.1, dense;dur=3.9, total;dur=14.2`` (milliseconds). Browsers'
developer tools show it, and ``bench search-http`` splits the API's latency into the query
encoder and the SQL with it. Outside a request (commands, workers) ``timed`` does nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_stages: ContextVar[dict[str, float] | None] = ContextVar("server_timing_stages", default=None)


@contextmanager
def timed(stage: str) -> Iterator[None]:
    """Add the block's wall time to ``stage`` of the current request (if one is collecting)."""
    stages = _stages.get()
    if stages is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        stages[stage] = stages.get(stage, 0.0) + time.perf_counter() - started


@contextmanager
def collecting() -> Iterator[dict[str, float]]:
    """Collect the stages timed inside the block (seconds per stage)."""
    stages: dict[str, float] = {}
    token = _stages.set(stages)
    try:
        yield stages
    finally:
        _stages.reset(token)


def header_value(stages: dict[str, float], total: float) -> str:
    """``stage;dur=ms`` entries (RFC: W3C Server Timing), the request's total last."""
    entries = [f"{name};dur={seconds * 1000:.1f}" for name, seconds in stages.items()]
    return ", ".join([*entries, f"total;dur={total * 1000:.1f}"])
