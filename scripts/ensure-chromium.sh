#!/usr/bin/env bash
# Make sure a Chromium that playwright can drive is on this machine.
# Order: $VIZHUB_CHROMIUM, a system Chromium, one playwright installed before;
# else Debian's chromium package (as root with apt), else `playwright install chromium`.
set -euo pipefail

found() { echo "chromium: $1"; exit 0; }

if [[ -n "${VIZHUB_CHROMIUM:-}" ]]; then
  [[ -x "$VIZHUB_CHROMIUM" ]] && found "$VIZHUB_CHROMIUM"
  echo "VIZHUB_CHROMIUM=$VIZHUB_CHROMIUM is not an executable file" >&2
  exit 1
fi
for candidate in /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome /usr/bin/google-chrome-stable; do
  [[ -x "$candidate" ]] && found "$candidate"
done
shopt -s nullglob
for candidate in "${PLAYWRIGHT_BROWSERS_PATH:-$HOME/.cache/ms-playwright}"/chromium-*/chrome-linux*/chrome; do
  found "$candidate"
done

if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
  echo "chromium: installing Debian's chromium package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fonts-liberation >/dev/null
  [[ -x /usr/bin/chromium ]] && found /usr/bin/chromium
fi

echo "chromium: none on this machine; trying playwright install chromium"
.venv/bin/playwright install chromium
for candidate in "${PLAYWRIGHT_BROWSERS_PATH:-$HOME/.cache/ms-playwright}"/chromium-*/chrome-linux*/chrome; do
  found "$candidate"
done
echo "no Chromium could be installed: install one and set VIZHUB_CHROMIUM=/path/to/chromium" >&2
exit 1
