#!/usr/bin/env bash
# System packages the client tests use: Debian's chromium (playwright drives it; its own
# browser download is never used), Xvfb and ImageMagick (the desktop window's screenshot),
# GTK WebKit and the headers PyGObject builds against (`greenroom app`), node/npm (the
# Tauri schema check, the node example), nng-utils (the nngcat example).
# Installs what is missing where apt-get runs as root; elsewhere says what is missing
# (those tests then skip, naming what they need).
set -euo pipefail
pkgs=(chromium xvfb imagemagick nng-utils nodejs npm gir1.2-webkit2-4.1 libgirepository1.0-dev libcairo2-dev pkg-config)
command -v dpkg >/dev/null || { echo "test-deps: not a Debian system; client tests that need ${pkgs[*]} may skip"; exit 0; }
missing=()
for p in "${pkgs[@]}"; do
  case "$p" in  # node and npm may come from elsewhere (nodesource bundles npm): a command will do
    nodejs) command -v node >/dev/null && continue ;;
    npm) command -v npm >/dev/null && continue ;;
  esac
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "test-deps: missing ${missing[*]} (apt-get install them); the tests that need them will skip"
fi
