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


def test_per_drawing_sampling_gives_a_concept_one_share_per_drawing():
    from collections import Counter

    from media_index.synthetic.concepts import CONCEPTS_BY_KEY
    from media_index.training.data import drawing_schedule

    concepts = [CONCEPTS_BY_KEY[key] for key in ("dog", "penguin", "car", "pizza")]  # 3, 1, 3, 1 drawings
    pool = GeneratedPairs(concepts, num_images=16, seed=0, captions_per_image=1, progress=False,
                          multi_object_probability=0.0, per_drawing=True)  # fmt: skip
    firsts = Counter(scene[0].key for scene in pool.scenes)

    assert drawing_schedule(concepts) == [0, 0, 0, 1, 2, 2, 2, 3]
    assert firsts == {"dog": 6, "penguin": 2, "car": 6, "pizza": 2}
    # Off by default: one share per concept, as the shipped v2 was trained.
    plain = GeneratedPairs(concepts, num_images=16, seed=0, captions_per_image=1, progress=False,
                           multi_object_probability=0.0)  # fmt: skip
    assert Counter(scene[0].key for scene in plain.scenes) == {"dog": 4, "penguin": 4, "car": 4, "pizza": 4}


def test_weighted_concepts_get_that_many_times_their_shares():
    from collections import Counter

    from media_index.synthetic.concepts import CONCEPTS_BY_KEY
    from media_index.training.data import drawing_schedule

    concepts = [CONCEPTS_BY_KEY[key] for key in ("dog", "penguin", "pizza")]  # 3, 1, 1 drawings
    weighted = GeneratedPairs(concepts, num_images=12, seed=0, captions_per_image=1, progress=False,
                              multi_object_probability=0.0, weighted={"penguin"}, weight=4)  # fmt: skip

    # Per concept (no per-drawing shares): penguin 4, dog 1, pizza 1 of every 6 pictures.
    assert Counter(scene[0].key for scene in weighted.scenes) == {"dog": 2, "penguin": 8, "pizza": 2}
    assert drawing_schedule(concepts, weighted={"dog"}, weight=2) == [0] * 6 + [1, 2]
    with pytest.raises(ValueError, match="at least 1"):
        drawing_schedule(concepts, weight=0)


def test_rendering_in_worker_processes_gives_the_same_pool():
    one = GeneratedPairs(CONCEPTS, num_images=300, seed=5, captions_per_image=1, progress=False)
    two = GeneratedPairs(CONCEPTS, num_images=300, seed=5, captions_per_image=1, progress=False, workers=2)
    assert np.array_equal(one.pixels, two.pixels)
    assert (one.classes, one.colours, one.groups) == (two.classes, two.colours, two.groups)


def test_class_targets_name_the_colour_only_where_the_caption_does():
    from media_index.synthetic.concepts import COLOURS
    from media_index.training.data import COLOUR_TARGET_SHARE

    pairs = GeneratedPairs(CONCEPTS, num_images=3 * len(CONCEPTS), seed=1, captions_per_image=4, progress=False)
    colour_classes = {len(CONCEPTS) + position: name for position, name in enumerate(COLOURS)}
    seen_named, seen_plain, seen_group = False, False, False
    for index in range(len(pairs)):
        _, text, _, classes, image_targets, text_targets = pairs[index]
        assert abs(sum(weight for _, weight in image_targets) - 1) < 1e-9
        assert abs(sum(weight for _, weight in text_targets) - 1) < 1e-9
        if len(classes) > 1:
            # Several objects: an even share each, no colour.
            assert image_targets == text_targets == tuple((c, 1 / len(classes)) for c in classes)
            seen_group = True
            continue
        colour = dict(image_targets).keys() & colour_classes.keys()
        if not colour:
            assert image_targets == text_targets == ((classes[0], 1.0),)
            continue
        (colour_class,) = colour
        assert dict(image_targets)[colour_class] == COLOUR_TARGET_SHARE
        english, chinese = COLOURS[colour_classes[colour_class]]
        if english in text.lower().split() or chinese in text:
            assert text_targets == image_targets
            seen_named = True
        else:
            assert text_targets == ((classes[0], 1.0),)
            seen_plain = True
    assert seen_named and seen_plain and seen_group
    assert pairs.num_classes == len(CONCEPTS) + len(COLOURS)


def test_text_pairs_add_a_query_and_a_note_about_the_first_concept_and_leave_the_rest_alone():
    plain = GeneratedPairs(CONCEPTS, num_images=len(CONCEPTS), seed=2, captions_per_image=2, progress=False)
    paired = GeneratedPairs(CONCEPTS, num_images=len(CONCEPTS), seed=2, captions_per_image=2, progress=False,
                            text_pairs=True)  # fmt: skip
    languages = set()
    for index in range(len(paired)):
        item = paired[index]
        # The picture's own caption and targets are what they were without the pairs.
        assert item[1:6] == plain[index][1:6]
        query, note = item[6]["query"], item[6]["note"]
        concept = paired.scenes[index % paired.num_images][0]
        names = concept.en + concept.zh
        assert any(name.lower() in query.lower() for name in names), (concept.key, query)
        assert any(name.lower() in note.lower() for name in names), (concept.key, note)
        # A note is a sentence, a query a few words with no full stop.
        assert note.rstrip()[-1] in ".!?。！？", note
        assert query[-1] not in ".!?。！？", query
        languages.add((query.isascii(), note.isascii()))
    # Each side in either language, so the pairs also tie English queries to Chinese notes.
    assert languages == {(True, True), (True, False), (False, True), (False, False)}
    assert len(plain[0]) == 6


def test_colour_negatives_swap_only_the_colour_of_single_coloured_pictures():
    from media_index.synthetic.concepts import COLOURS

    plain = GeneratedPairs(CONCEPTS, num_images=2 * len(CONCEPTS), seed=4, captions_per_image=2, progress=False)
    pairs = GeneratedPairs(CONCEPTS, num_images=2 * len(CONCEPTS), seed=4, captions_per_image=2, progress=False,
                           colour_negatives=True)  # fmt: skip
    swapped = 0
    for index in range(len(pairs)):
        item = pairs[index]
        assert item[1:6] == plain[index][1:6]
        image_index = index % pairs.num_images
        colours = pairs.colours[image_index]
        extras = item[6]
        if len(colours) != 1 or colours[0] is None:
            # Several objects, or no nameable colour: nothing to swap.
            assert "colour_caption" not in extras
            continue
        positive, negative = extras["colour_caption"], extras["colour_negative"]
        english, chinese = COLOURS[colours[0]]
        assert english in positive.split() or chinese in positive, (colours[0], positive)
        # The negative names another colour and otherwise says the very same thing.
        others = [name for name in COLOURS if name != colours[0]]
        (other,) = [name for name in others if COLOURS[name][0] in negative.split() or COLOURS[name][1] in negative]
        as_positive = negative.replace(COLOURS[other][1], chinese).split()
        as_positive = [english if word == COLOURS[other][0] else word for word in as_positive]
        assert " ".join(as_positive).replace("an ", "a ") == positive.replace("an ", "a "), (positive, negative)
        swapped += 1
    assert swapped > len(CONCEPTS) // 4


def test_text_views_are_one_string_of_arbitrary_words_seen_twice():
    import random

    from media_index.training.data import text_views

    rng = random.Random(0)
    views = [text_views(rng) for _ in range(400)]
    for first, second in views:
        assert first and second
        # The second view is the first with at most one word (or character) left out.
        words = first.split() if " " in first or first.isascii() else list(first)
        other = second.lower().split() if first.isascii() else list(second)
        assert len(words) - len(other) in (0, 1), (first, second)
        assert set(other) <= {word.lower() for word in words}, (first, second)
    # Both scripts, many different strings: arbitrary text, not the corpus's names.
    assert any(first.isascii() for first, _ in views) and any(not first.isascii() for first, _ in views)
    assert len({first for first, _ in views}) > 390
    assert text_views(random.Random(5)) == text_views(random.Random(5))


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
