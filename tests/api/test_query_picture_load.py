"""A load check (issue: anonymous memory exhaustion): twenty anonymous picture searches at
once with 7000x7000 PNGs (about 150 KB each, 49 megapixels decoded) must not grow the web
process by 500 MB, and each gets a 4xx or a 200, never a 5xx."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import requests
from PIL import Image

from media_index.services.demo import demo_collection_load

pytestmark = [pytest.mark.slow]
CONCURRENT = 20


def _png(side: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side), (200, 120, 40)).save(out, format="PNG")
    return out.getvalue()


def test_twenty_huge_query_pictures_at_once_keep_memory_bounded(transactional_db, live_server) -> None:
    demo_collection_load(pictures=4, notes=2, index_now=True)
    huge = _png(7000)
    process = psutil.Process()
    before = process.memory_info().rss

    def search(_: int) -> int:
        files = {"image": ("huge.png", huge, "image/png")}
        return requests.post(f"{live_server.url}/api/v1/search/", files=files, timeout=120).status_code

    with ThreadPoolExecutor(CONCURRENT) as pool:
        codes = list(pool.map(search, range(CONCURRENT)))
    grown = (process.memory_info().rss - before) / 2**20

    assert all(code == 200 or 400 <= code < 500 for code in codes), codes
    assert grown < 500, f"the web process grew by {grown:.0f} MB"
    # And the same picture as a JPEG (decoded at a reduced scale) is searched.
    jpeg = io.BytesIO()
    Image.open(io.BytesIO(huge)).convert("RGB").save(jpeg, format="JPEG", quality=70)
    answer = requests.post(f"{live_server.url}/api/v1/search/", timeout=120,
                           files={"image": ("huge.jpg", jpeg.getvalue(), "image/jpeg")})  # fmt: skip
    assert answer.status_code == 200, answer.text
