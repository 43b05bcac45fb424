"""open_clip model configs that ship with the project (the offline demo model).

open_clip finds architectures by name in its own folder plus any folder passed to
``open_clip.add_model_config``; registering this folder lets the demo model load through
exactly the same ``create_model_and_transforms(name, pretrained=...)`` path as any
pretrained CLIP.
"""

from pathlib import Path

import open_clip

DEMO_MODEL_NAME = "demo-clip"

CONFIG_DIR = Path(__file__).resolve().parent


def register_model_configs() -> None:
    """Make the project's model configs known to open_clip (safe to call repeatedly)."""
    known = set(open_clip.list_models())
    wanted = {path.stem for path in CONFIG_DIR.glob("*.json")}
    # add_model_config appends to a global search path and rescans it, so only add the
    # folder once per process instead of growing that list on every call.
    if not wanted <= known:
        open_clip.add_model_config(CONFIG_DIR)
