"""BM25 statistics count only what the searcher may see (no side channel into private notes)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from media_index.models import Item
from media_index.search.retrieval import rank_lexical
from media_index.search.types import SearchFilters
from media_index.services.lexical_index import lexical_index_items

pytestmark = pytest.mark.django_db


def _note(owner, text: str, visibility: str = Item.Visibility.PRIVATE) -> Item:  # noqa: ANN001
    item = Item.objects.create(owner=owner, kind=Item.Kind.NOTE, note_text=text, content_hash=f"h-{text}",
                               visibility=visibility, status=Item.Status.READY)  # fmt: skip
    lexical_index_items(items=[item])
    return item


def test_a_word_in_someone_elses_private_note_does_not_change_my_scores(django_user_model) -> None:
    """The attack: save one note per guessed word and compare their BM25 scores; a word
    that also occurs in another user's private note used to score lower (higher document
    frequency). With statistics over visible items only, both guesses score the same."""
    victim = django_user_model.objects.create_user("victim", password="pw")
    attacker = django_user_model.objects.create_user("attacker", password="pw")
    _note(victim, "my salary is 98765 this year")
    _note(attacker, "guess 98765")
    _note(attacker, "guess 12345")

    scores = {
        word: rank_lexical(text=word, viewer=attacker, filters=SearchFilters(scope="mine"))[0].lexical_score
        for word in ("98765", "12345")
    }

    assert scores["98765"] == pytest.approx(scores["12345"])
    # The victim's own search still finds the note; an anonymous one does not.
    assert rank_lexical(text="98765", viewer=victim, filters=SearchFilters(scope="mine"))
    assert not rank_lexical(text="salary", viewer=AnonymousUser(), filters=SearchFilters())
