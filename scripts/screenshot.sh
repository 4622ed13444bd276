#!/usr/bin/env bash
# Renders an HTML report in headless Chromium and saves a PNG, to look at what an admin sees.
#   scripts/screenshot.sh report/report.html report.png [width] [height]
# Needs Debian's chromium (`apt-get install chromium`). The flags keep Chromium off the network:
# the report must render with none.
set -euo pipefail
html=${1:?usage: screenshot.sh REPORT.html OUT.png [width] [height]}
png=${2:?usage: screenshot.sh REPORT.html OUT.png [width] [height]}
width=${3:-1400}
height=${4:-2200}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "screenshot.sh: no chromium found (apt-get install chromium)" >&2; exit 2; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size="$width,$height" \
  --screenshot="$(realpath -m "$png")" "file://$(realpath "$html")" 2>/dev/null
echo "wrote $png"
