"""Deterministic synthetic content, with no torch and no Django: the concepts (English and
Chinese names), captions and notes about them, and pictures of them rendered from OpenMoji
drawings or the shipped emoji font subset.

Two users: the runtime demo collection (``services.demo``, what ``make run`` loads on a
first start) and offline training and evaluation (``media_index.training``), which renders
its training pool and held-out galleries from the same code.
"""
