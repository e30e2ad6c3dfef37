#!/usr/bin/env bash
# Makes sure Debian's headless-capable Chromium (/usr/bin/chromium) and CJK fonts (for Chinese
# text in the console's screenshots) are installed: the console's browser tests drive them with
# Playwright through `executable_path`, so no browser build is ever downloaded. It never skips:
# if the browser cannot be installed, it fails.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
install() {
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

wanted=()
command -v chromium >/dev/null || wanted+=(chromium)
# fc-list shows whether any Noto CJK face is there; without fontconfig, install the package anyway
if ! { command -v fc-list >/dev/null && fc-list :lang=zh | grep -qi "noto.*cjk"; }; then
  wanted+=(fonts-noto-cjk)
fi
[ ${#wanted[@]} -eq 0 ] && exit 0

echo "browser: installing ${wanted[*]}"
# the package lists may be missing or stale on a fresh machine: refresh them once and retry
install "${wanted[@]}" || { as_root apt-get update -qq && install "${wanted[@]}"; }
command -v chromium >/dev/null || { echo "browser: chromium did not install" >&2; exit 1; }
