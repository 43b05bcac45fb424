"""Chunking notes by the model's own tokenizer: nothing cut, nothing over the limit."""

from __future__ import annotations

import open_clip
import pytest

from media_index.services.chunking import chunk_text
from tests import media

CLIP_LIMIT = 77


@pytest.fixture(scope="module")
def clip_tokens():
    tokenizer = open_clip.get_tokenizer("ViT-B-32")  # CLIP's BPE ships with open_clip; no weights needed
    return lambda text: len(tokenizer.encode(text)) + 2


def _covered(text: str, chunks) -> str:
    return " ".join(chunk.text for chunk in chunks)


def test_a_short_note_is_one_chunk(clip_tokens) -> None:
    chunks = chunk_text("A puppy on the sofa.", max_tokens=CLIP_LIMIT, count_tokens=clip_tokens)

    assert [(c.text, c.start, c.end) for c in chunks] == [("A puppy on the sofa.", 0, 20)]


def test_a_long_note_becomes_several_chunks_within_the_limit(clip_tokens) -> None:
    text = media.long_note()
    assert clip_tokens(text) > CLIP_LIMIT

    chunks = chunk_text(text, max_tokens=CLIP_LIMIT, count_tokens=clip_tokens)

    assert len(chunks) >= 3
    assert all(clip_tokens(chunk.text) <= CLIP_LIMIT for chunk in chunks)
    assert all(text[chunk.start : chunk.end] == chunk.text for chunk in chunks)
    # Every sentence is in some chunk: nothing silently dropped.
    for sentence in text.split(". "):
        assert any(sentence.strip(". ") in chunk.text for chunk in chunks), sentence


def test_chinese_sentences_split_on_chinese_punctuation(clip_tokens) -> None:
    text = "我家的小狗在公园里跑。它很喜欢追球！晚上它睡在沙发上。" * 6

    chunks = chunk_text(text, max_tokens=CLIP_LIMIT, count_tokens=clip_tokens)

    assert len(chunks) > 1
    assert all(clip_tokens(chunk.text) <= CLIP_LIMIT for chunk in chunks)
    assert all(chunk.text.endswith(("。", "！")) for chunk in chunks)


def test_one_enormous_sentence_is_split_not_truncated(clip_tokens) -> None:
    text = " ".join(f"word{i}" for i in range(400))

    chunks = chunk_text(text, max_tokens=CLIP_LIMIT, count_tokens=clip_tokens)

    assert all(clip_tokens(chunk.text) <= CLIP_LIMIT for chunk in chunks)
    joined = " ".join(chunk.text for chunk in chunks).split()
    assert joined == text.split()


def test_short_trailing_sentences_overlap_into_the_next_chunk() -> None:
    words = lambda text: len(text.split())  # noqa: E731 - one token per word keeps the arithmetic visible
    text = "one two three four five. six seven. eight nine ten eleven twelve."

    chunks = chunk_text(text, max_tokens=7, count_tokens=words)

    assert [c.text for c in chunks] == ["one two three four five. six seven.", "six seven. eight nine ten eleven twelve."]


def test_blank_text_has_no_chunks(clip_tokens) -> None:
    assert chunk_text(" \n\t ", max_tokens=CLIP_LIMIT, count_tokens=clip_tokens) == []


def test_a_note_title_never_forms_a_chunk_alone() -> None:
    """A title alone ("order-8843") says little and used to be what nonsense matched; it
    leads the first passage instead, and every chunk still fits the limit."""
    from media_index.services.chunking import note_chunks

    def count(text: str) -> int:
        return len(text.split()) + 2  # words plus the two special tokens, like CLIP's count

    body = " ".join(f"Sentence {n} of the order note has several words in it." for n in range(30))
    chunks = note_chunks(title="order-8843", body=body, max_tokens=30, count_tokens=count)
    text = f"order-8843\n\n{body}"

    assert chunks[0].text.startswith("order-8843\n\nSentence 0")
    assert chunks[0].text != "order-8843"
    assert all(count(chunk.text) <= 30 for chunk in chunks)
    assert all(text[chunk.start : chunk.end] == chunk.text for chunk in chunks)
    assert not text[chunks[-1].end :].strip()  # the whole note is covered
    # No title, or no body: chunked like any text.
    assert [c.text for c in note_chunks(title="", body="Just a line.", max_tokens=30, count_tokens=count)] == [
        "Just a line."
    ]
