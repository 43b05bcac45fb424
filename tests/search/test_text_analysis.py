"""The lexical analyser: Chinese segmented, English folded and stemmed, codes kept whole."""

from __future__ import annotations

from media_index.search.text_analysis import analyze, normalized, query_terms


def test_chinese_is_segmented_into_words_and_their_parts() -> None:
    terms = query_terms("订单号 8843：我家的小狗")

    assert {"订单号", "订单", "8843", "小狗"} <= set(terms)
    assert "的" not in terms  # a stopword
    assert "订单号 8843：我家的小狗" not in terms


def test_english_is_case_folded_and_stemmed() -> None:
    assert query_terms("Puppies RUNNING") == query_terms("puppy running") == ["puppi", "run"]


def test_codes_are_kept_whole_and_split() -> None:
    terms = query_terms("Invoice INV-2024-0042")

    assert "inv-2024-0042" in terms
    assert {"inv", "2024", "0042"} <= set(terms)


def test_full_width_characters_match_their_ascii_form() -> None:
    assert query_terms("ＩＮＶ－２０２４") == query_terms("inv-2024")


def test_spans_point_at_the_words_in_the_text() -> None:
    text = "Max, our Puppy, 在公园里跑"
    spans = {term.text: text[term.start : term.end] for term in analyze(text)}

    assert spans["puppi"] == "Puppy"
    assert spans["公园"] == "公园"
    assert len(normalized(text)) == len(text)


def test_empty_and_symbol_only_text_has_no_terms() -> None:
    assert analyze("") == []
    assert analyze("!!! --- ？？？") == []


def test_chinese_bigrams_survive_a_wrong_segmentation() -> None:
    # jieba splits "一个大雪人" as 大雪 + 人; the bigram 雪人 is a term all the same.
    assert "雪人" in query_terms("周末带孩子们去山上堆了一个大雪人。")
    assert "一个" not in query_terms("一个大雪人")  # a stopword stays out, bigram or not


def test_stemming_is_safe_from_many_threads_at_once() -> None:
    # Web workers run several threads; a shared Snowball stemmer once corrupted itself under
    # load (IndexError mid-word). The uncached function is hammered here on purpose.
    from concurrent.futures import ThreadPoolExecutor

    from media_index.search.text_analysis import _stem

    stem = _stem.__wrapped__
    words = [f"{root}{suffix}" for root in ("puppy", "running", "flower", "invoice", "walking", "happiness")
             for suffix in ("", "s", "ed", "ing", "ly", "ness")]  # fmt: skip
    expected = {word: stem(word) for word in words}

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda word: (word, stem(word)), words * 500))

    assert all(result == expected[word] for word, result in results)
