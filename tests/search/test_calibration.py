"""Calibrated relevance from a space's own data: the background, the line, the levels."""

from __future__ import annotations

import numpy as np
import pytest

from media_index.search.calibration import Calibration, calibrate, image_probes, level, pair_stats, text_probes


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _space(shared: float, seed: int, dim: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A toy space: item vectors that share a common direction with weight ``shared`` (the
    narrow cone every CLIP-style model's vectors sit in), and a direction of their own."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=dim)
    own = rng.normal(size=(500, dim))
    return _unit(own + shared * np.linalg.norm(own, axis=1, keepdims=True) * _unit(common[None])), common


@pytest.mark.parametrize(("shared", "seed"), [(0.3, 1), (1.5, 2)])
def test_the_line_adapts_to_each_space_and_separates_matches_from_nonsense(shared: float, seed: int) -> None:
    items, common = _space(shared, seed)
    rng = np.random.default_rng(seed + 10)
    # Unrelated queries live in the same cone (same model), near no item in particular.
    nonsense = _unit(rng.normal(size=(200, items.shape[1])) + shared * 8 * _unit(common[None]))
    stats = pair_stats(nonsense[:100], items)

    genuine = _unit(items[:50] + 0.3 * rng.normal(size=(50, items.shape[1])) / np.sqrt(items.shape[1]))
    best_genuine = (genuine @ items.T).max(axis=1)
    best_nonsense = (nonsense[100:] @ items.T).max(axis=1)

    assert stats is not None
    assert np.mean([stats.relevance(float(c)) >= 0 for c in best_genuine]) >= 0.95
    assert np.mean([stats.relevance(float(c)) < 0 for c in best_nonsense]) >= 0.85
    assert stats.cosine_at(0.0) == pytest.approx(stats.median + stats.spread * stats.threshold)


def test_two_spaces_get_different_lines_from_their_own_data() -> None:
    narrow, _ = _space(1.5, 2)
    wide, _ = _space(0.3, 1)
    probes = _unit(np.random.default_rng(5).normal(size=(100, 64)))

    a, b = pair_stats(probes, narrow), pair_stats(probes, wide)

    assert abs(a.cosine_at(0.0) - b.cosine_at(0.0)) > 0.02
    assert a.median != pytest.approx(b.median, abs=1e-3)


def test_calibrate_covers_every_query_and_item_kind_and_round_trips() -> None:
    rng = np.random.default_rng(0)
    items = {"image": _unit(rng.normal(size=(40, 16))), "note": _unit(rng.normal(size=(30, 16)))}

    calibration = calibrate(
        embed_texts=lambda texts: _unit(rng.normal(size=(len(texts), 16))),
        embed_images=lambda images: _unit(rng.normal(size=(len(images), 16))),
        items_by_kind=items,
    )

    assert set(calibration.pairs) == {"text->image", "text->note", "image->image", "image->note"}
    restored = Calibration.from_json(calibration.to_json())
    assert restored == calibration
    assert Calibration.from_json({"version": 0, "pairs": {}}) is None  # an older format is recomputed


def test_one_picture_that_looks_like_nothing_does_not_set_the_line_for_picture_queries() -> None:
    rng = np.random.default_rng(7)
    probes = _unit(rng.normal(size=(32, 16)) + 3 * _unit(np.ones((1, 16))))  # pictures of nothing, alike
    items = _unit(rng.normal(size=(200, 16)))
    items[0] = _unit(probes.mean(axis=0, keepdims=True))[0]  # the hub: every probe's best match

    calibration = calibrate(embed_texts=lambda texts: _unit(rng.normal(size=(len(texts), 16))),
                            embed_images=lambda images: probes[: len(images)], items_by_kind={"image": items})  # fmt: skip

    line = calibration.stats("image", "image").cosine_at(0.0)
    assert line < pair_stats(probes, items, quantile=0.5).cosine_at(0.0) - 0.1  # rank 1: the hub's level
    assert line == pytest.approx(pair_stats(probes, items, quantile=0.5, rank=3).cosine_at(0.0))
    # A handful of items: too few to tell a hub from a match, so the best match counts.
    few = calibrate(embed_texts=lambda texts: _unit(rng.normal(size=(len(texts), 16))),
                    embed_images=lambda images: probes[: len(images)], items_by_kind={"image": items[:20]})  # fmt: skip
    assert few.stats("image", "image") == pair_stats(probes, items[:20], quantile=0.5)


def test_probes_are_deterministic_varied_and_name_nothing() -> None:
    texts = text_probes(60, seed=3)

    assert texts == text_probes(60, seed=3) and texts != text_probes(60, seed=4)
    assert len(set(texts)) > 55
    assert any(not text.isascii() for text in texts) and any("-" in text for text in texts)
    assert len(image_probes(8, seed=3)) == 8


@pytest.mark.parametrize(("relevance", "expected"), [(None, "weak"), (-0.1, "weak"), (0.0, "good"), (0.99, "good"),
                                                     (1.0, "strong")])  # fmt: skip
def test_levels(relevance: float | None, expected: str) -> None:
    assert level(relevance) == expected
