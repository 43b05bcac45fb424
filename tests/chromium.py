"""Starting the test browser: Chromium found on the machine (or Playwright's download),
kept off the network, with a font from pip (tests/fonts.py). No Django here, so a
subprocess can use it before Django is set up."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.fonts import fontconfig_file

# Root needs --no-sandbox; the rest keep Chromium off the (closed) network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-quic", "--no-first-run", "--disable-sync"]  # fmt: skip
NO_BROWSER = (
    "No Chromium for the browser tests: `make test` looks for one, installs Debian's chromium "
    "with apt-get when run as root, else tries Playwright's download. Install one with "
    "'sudo apt-get install chromium' or '.venv/bin/python -m playwright install chromium'."
)


class NoBrowser(RuntimeError):
    """No Chromium on this machine (the message says how to get one)."""


def chromium_executable(playwright) -> str | None:  # noqa: ANN001
    """A Chromium on the PATH (Debian's), else Playwright's own download, else None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    bundled = playwright.chromium.executable_path
    return bundled if bundled and Path(bundled).exists() else None


def launch(playwright, work_dir: Path):  # noqa: ANN001, ANN201 - Playwright's Browser
    """Chromium with the pip font added to the machine's (work_dir holds the fontconfig file)."""
    executable = chromium_executable(playwright)
    if executable is None:
        raise NoBrowser(NO_BROWSER)
    fonts = fontconfig_file(work_dir / "fontconfig")
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                      env={**os.environ, "FONTCONFIG_FILE": str(fonts)})  # fmt: skip
