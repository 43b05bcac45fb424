"""Search: from a query to a ranked, cut, presentable list.

- ``types``: filters, hits, results (the vocabulary).
- ``query``: checking words and embedding a query with the searched space's model.
- ``retrieval``: the SQL retrievers (dense cosine, BM25, a text space's sparse weights).
- ``bm25`` and ``text_analysis``: lexical ranking and the analyser it shares with indexing.
- ``fusion``: merging rankings and the relevance cutoff.
- ``service``: the one entry point (``search_by_query``, ``search_by_vector``,
  ``search_similar``) of the page, the API and ``evaluate``.
- ``snippets``: what a result shows (presentation, for the hits on a page only).

Imports run one way: service -> fusion/retrieval/query -> bm25/text_analysis -> types.
Views and the API import ``service`` and ``snippets``; nothing here imports views, tasks
or the API.
"""
