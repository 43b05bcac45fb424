"""Fonts in the tests: a font for the test browser that comes from pip, not from the
machine, and a way to run a script with every system font hidden.

Debian's chromium depends only on libfontconfig1, and `tools/ensure_browser.sh` installs
it without recommended packages, so a bare machine can end up with no font at all: Chromium
then renders text as nothing and dies on the first page. The browser fixture hands Chromium
a fontconfig file that adds Source Sans Pro (SIL OFL, the `font-source-sans-pro` wheel in
requirements-dev.txt) to whatever the machine's own configuration provides. On a machine
with fonts nothing changes but one more family; on a bare one Latin text renders. Chinese
text still needs a CJK font from the machine (no pip package small enough carries one);
without it Chromium draws boxes, which only the screenshots show.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape

FAMILY = "Source Sans Pro"
SYSTEM_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/usr/share/X11/fonts")


def font_directory() -> Path:
    import font_source_sans_pro

    return Path(font_source_sans_pro.font_directory)


def fontconfig_file(folder: Path) -> Path:
    """Write a fonts.conf under folder that includes the system's and adds the pip font."""
    folder.mkdir(parents=True, exist_ok=True)
    cache = folder / "cache"
    conf = folder / "fonts.conf"
    generic = "".join(
        f"<alias binding=\"weak\"><family>{name}</family><default><family>{FAMILY}</family></default></alias>"
        for name in ("sans-serif", "serif", "monospace", "system-ui")
    )
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n<fontconfig>\n'
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"  <dir>{escape(str(font_directory()))}</dir>\n"
        f"  <cachedir>{escape(str(cache))}</cachedir>\n"
        f"  {generic}\n"
        "</fontconfig>\n",
        encoding="utf-8",
    )
    return conf


def run_with_fonts_hidden(script: Path, *, cwd: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, bool]:
    """Run a Python script in a mount namespace where every system font folder is an empty
    tmpfs (root: a plain mount namespace; others: a user namespace mapped to root). Returns
    the result and whether the folders were really hidden: a container without namespaces
    falls back to running the script with only the environment (HOME, XDG_DATA_DIRS) hiding
    the user's font folders. The script's first output line is the number of files left in
    the system font folders ("0" when hidden)."""
    mounts = " && ".join(f"mount -t tmpfs none {d}" for d in SYSTEM_FONT_DIRS if os.path.isdir(d)) or "true"
    namespace = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "--map-root-user", "--mount"]
    count = f'(find {" ".join(SYSTEM_FONT_DIRS)} -mindepth 1 2>/dev/null | wc -l)'
    command = [*namespace, "sh", "-c", f'{mounts} && {count} && exec "{sys.executable}" "{script}"']
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0 and "unshare" in result.stderr and "Operation not permitted" in result.stderr:
        result = subprocess.run([sys.executable, str(script)], cwd=cwd, env=env, capture_output=True, text=True,
                                timeout=300)  # fmt: skip
        return result, False
    return result, True
