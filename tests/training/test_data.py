"""The training datasets built on the renders: generated pairs and CSV pairs (no model, no Django)."""

import numpy as np
import pytest
from PIL import Image

from media_index.synthetic.concepts import CONCEPTS
from media_index.training.data import CsvPairs, GeneratedPairs


def test_generated_pairs_are_deterministic_and_balanced():
    first = GeneratedPairs(CONCEPTS, num_images=2 * len(CONCEPTS), seed=3, captions_per_image=2, progress=False)
    second = GeneratedPairs(CONCEPTS, num_images=2 * len(CONCEPTS), seed=3, captions_per_image=2, progress=False)
    assert len(first) == 4 * len(CONCEPTS)
    assert np.array_equal(first.pixels, second.pixels)
    assert [first[i][1] for i in range(len(first))] == [second[i][1] for i in range(len(second))]
    # Every concept appears in the pool (picture i shows concept i % n first).
    assert {scene[0].key for scene in first.scenes} == {concept.key for concept in CONCEPTS}
    # The same picture comes back with different captions on later passes.
    assert first[0][1] != first[len(first.scenes)][1] or first[0][1] != first[2 * len(first.scenes)][1]


def test_csv_pairs_resolve_relative_paths_and_reject_bad_rows(tmp_path):
    Image.new("RGB", (8, 8), "red").save(tmp_path / "red.png")
    (tmp_path / "pairs.csv").write_text("image,caption\nred.png,a red square\n", encoding="utf-8")
    image, text = CsvPairs(tmp_path / "pairs.csv")[0]
    assert image.size == (8, 8) and text == "a red square"

    (tmp_path / "missing.csv").write_text("image,caption\nnope.png,a caption\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing.csv:2: no image file"):
        CsvPairs(tmp_path / "missing.csv")
    (tmp_path / "header.csv").write_text("path,text\nred.png,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing column"):
        CsvPairs(tmp_path / "header.csv")
