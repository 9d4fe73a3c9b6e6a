#!/usr/bin/env bash
# Write the sidecar launcher Tauri bundles: binaries/greenroom-<target triple>.
set -euo pipefail
cd "$(dirname "$0")"
triple=$(rustc -vV | sed -n 's/^host: //p')
gr=${GREENROOM:-$(command -v greenroom)}
printf '#!/bin/sh\nexec "%s" "$@"\n' "$gr" > "greenroom-$triple"
chmod +x "greenroom-$triple"
echo "wrote binaries/greenroom-$triple -> $gr"
