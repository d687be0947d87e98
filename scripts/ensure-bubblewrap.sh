#!/usr/bin/env bash
# Make sure bubblewrap (bwrap), the sandbox of the code-challenge runner, is on this machine.
# Order: $VIZHUB_BWRAP, bwrap on PATH; else Debian's bubblewrap package (as root with apt).
set -euo pipefail

found() { echo "bubblewrap: $1"; exit 0; }

if [[ -n "${VIZHUB_BWRAP:-}" ]]; then
  [[ -x "$VIZHUB_BWRAP" ]] && found "$VIZHUB_BWRAP"
  echo "VIZHUB_BWRAP=$VIZHUB_BWRAP is not an executable file" >&2
  exit 1
fi
if command -v bwrap >/dev/null; then
  found "$(command -v bwrap)"
fi

if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
  echo "bubblewrap: installing Debian's bubblewrap package"
  export DEBIAN_FRONTEND=noninteractive
  log="$(mktemp)"
  if apt-get update -qq >"$log" 2>&1 && apt-get install -y -qq --no-install-recommends bubblewrap >>"$log" 2>&1; then
    rm -f "$log"
    command -v bwrap >/dev/null && found "$(command -v bwrap)"
  else
    cat "$log" >&2
    rm -f "$log"
  fi
fi

echo "no bubblewrap on this machine: install it (Debian/Ubuntu: apt-get install bubblewrap;" \
  "Fedora: dnf install bubblewrap) or set VIZHUB_BWRAP=/path/to/bwrap" >&2
exit 1
