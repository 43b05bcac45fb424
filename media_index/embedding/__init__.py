"""Embedding backends behind one small interface, and a per-process model cache.

Use :func:`media_index.embedding.registry.get_embedder`; never build models directly.
"""
