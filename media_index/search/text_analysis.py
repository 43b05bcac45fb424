"""Text analysis for lexical (BM25) retrieval: the same terms for documents and queries.

Chinese has no spaces between words, so splitting on whitespace would make a whole
sentence one "word"; CJK runs are segmented with jieba in its search mode, which also
emits the shorter words inside a compound ("订单号" gives 订单, 单号, 订单号) so a query
for either finds it, and every character bigram is a term as well, because segmentation
is sometimes wrong ("堆了一个大雪人" segments as 大雪 + 人; its bigram 雪人 still matches). Latin text is case-folded (after NFKC, so full-width "ＡＢＣ" is
"abc") and stemmed with the Snowball English stemmer ("puppies" and "puppy" meet).
Codes such as "INV-2024-0042" are kept whole *and* split into their parts, so the
exact code ranks first while "2024" alone still finds it.

Each term carries the character span it came from, which is how snippets highlight the
words that matched.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

# Latin/digit words, with inner joiners kept so codes and versions stay one token.
_WORD = re.compile(r"[^\W_]+(?:[-_./:#][^\W_]+)*", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]+")
_JOINERS = re.compile(r"[-_./:#]")

# Words too common to carry meaning. Short on purpose: BM25's IDF already discounts
# frequent words; this only keeps them out of the postings and the query.
STOPWORDS = frozenset(
    "a an and are as at be but by for from has have i in into is it its me my of on or our so "
    "that the their them there these they this to was we were what when where which who will with "
    "you your 的 了 是 在 和 也 就 都 而 及 与 着 或 一个 我 你 他 她 它 我们 这 那 吗 呢 吧 啊".split()
)
# Bump when analysis changes: entries made by an older analyser are rebuilt by
# ``manage.py lexical_index`` (which ``make run`` runs at start).
ANALYZER_VERSION = 2
# Longer tokens are noise (base64, hashes in URLs); they would bloat the vocabulary.
MAX_TERM_CHARS = 64


@dataclass(frozen=True)
class Term:
    text: str
    start: int
    end: int


@functools.cache
def _jieba():  # noqa: ANN202 - the jieba module
    import jieba

    # jieba prints its dictionary loading to stderr at INFO; keep worker logs clean.
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


_local = threading.local()


@functools.lru_cache(maxsize=65_536)
def _stem(word: str) -> str:
    # A Snowball stemmer keeps the word being stemmed in the object: sharing one between
    # the threads of a web worker corrupts it (seen under load). One per thread; the
    # cache (itself thread-safe) spares most calls anyway.
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import snowballstemmer

        stemmer = _local.stemmer = snowballstemmer.stemmer("english")
    return stemmer.stemWord(word)


def _normalise(text: str) -> str:
    # NFKC keeps the length of nearly all text; where it does not (ligatures), spans
    # are computed on the normalised text, which is what highlighting receives too.
    return unicodedata.normalize("NFKC", text).casefold()


def _latin_terms(word: str, start: int) -> Iterator[Term]:
    parts = [(m.group(), start + m.start()) for m in re.finditer(r"[^\W_]+", _JOINERS.sub(" ", word))]
    if len(parts) > 1 and len(word) <= MAX_TERM_CHARS:
        yield Term(word, start, start + len(word))  # the whole code, unstemmed
    for part, offset in parts:
        if part in STOPWORDS or len(part) > MAX_TERM_CHARS:
            continue
        stem = part if part.isdigit() else _stem(part)
        yield Term(stem, offset, offset + len(part))


def analyze(text: str) -> list[Term]:
    """The terms of ``text`` in order, with their spans in ``normalized(text)``."""
    normal = _normalise(text)
    terms: list[Term] = []
    position = 0
    for cjk in _CJK.finditer(normal):
        terms.extend(_words(normal[position : cjk.start()], position))
        run, offset = cjk.group(), cjk.start()
        seen = set()
        for word, start, end in _jieba().tokenize(run, mode="search"):
            if word.strip() and word not in STOPWORDS:
                terms.append(Term(word, offset + start, offset + end))
                seen.add((start, end))
        # Character bigrams too: segmentation is ambiguous ("一个大雪人" splits as 大雪 + 人),
        # and the bigram 雪人 still matches a query for 雪人. IDF keeps common ones cheap.
        for start in range(len(run) - 1):
            if (start, start + 2) not in seen and run[start : start + 2] not in STOPWORDS:
                terms.append(Term(run[start : start + 2], offset + start, offset + start + 2))
        position = cjk.end()
    terms.extend(_words(normal[position:], position))
    return terms


def _words(segment: str, offset: int) -> Iterator[Term]:
    for match in _WORD.finditer(segment):
        yield from _latin_terms(match.group(), offset + match.start())


def normalized(text: str) -> str:
    """The text whose character offsets ``analyze`` reports."""
    return _normalise(text)


def term_counts(text: str) -> Counter[str]:
    return Counter(term.text for term in analyze(text))


def query_terms(text: str) -> list[str]:
    """Distinct terms of a query, in order of first appearance."""
    return list(dict.fromkeys(term.text for term in analyze(text)))
