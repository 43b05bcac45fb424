"""Training and evaluation of open_clip models: the offline demo model and fine-tuning on user pairs.

Pure Python (no Django), so management commands can wrap these functions.
"""
