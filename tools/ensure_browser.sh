#!/bin/sh
# Part of `make test`: find or get a Chromium for the browser tests (tests/test_browser.py).
# No PyPI package carries a browser, so this is the one thing `make test` may install
# outside the virtual environment. In order: a Chromium already on the machine; as root
# on Debian/Ubuntu, `apt-get install chromium`; Playwright's own download (reachable from
# most users' machines, not from this project's CI). When all fail the browser tests fail
# with a message naming the command to run; they never skip.
set -u
PY="${1:-.venv/bin/python}"

for name in chromium chromium-browser google-chrome; do
  if command -v "$name" >/dev/null 2>&1; then exit 0; fi
done
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "[make test] no Chromium found: installing Debian's chromium with apt-get"
  if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; then
    exit 0
  fi
fi
echo "[make test] no Chromium found: trying Playwright's own download"
if "$PY" -m playwright install chromium; then exit 0; fi
echo "[make test] no Chromium could be found or installed; the browser tests will fail." >&2
echo "[make test] Install one with 'sudo apt-get install chromium' or '$PY -m playwright install chromium'." >&2
exit 0
