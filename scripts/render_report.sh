#!/usr/bin/env bash
# Renders an `rpt report` HTML page to a PNG with headless Chromium, to look at the page as a browser
# draws it (the report needs no network: Chromium is started with networking cut off).
#
#   bash scripts/render_report.sh REPORT.html OUT.png [WIDTH] [HEIGHT]
#
# Installs Debian's `chromium` with apt-get when no Chromium is found. The default window is 1200 × 4000;
# the page is drawn on a white background and cut at HEIGHT.
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 REPORT.html OUT.png [WIDTH] [HEIGHT]" >&2; exit 2; fi
html=$1; png=$2; width=${3:-1200}; height=${4:-4000}
[ -f "$html" ] || { echo "$html: file not found" >&2; exit 1; }
browser=""
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
    echo "installing chromium (apt-get)…" >&2
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
    browser=chromium
fi
abs_html=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
mkdir -p "$(dirname "$png")"
abs_png=$(cd "$(dirname "$png")" && pwd)/$(basename "$png")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
    --proxy-server="127.0.0.1:9" --proxy-bypass-list="<-loopback>" --no-first-run --disable-extensions \
    --force-device-scale-factor=1 --window-size="$width,$height" --screenshot="$abs_png" "file://$abs_html" 2>/dev/null
[ -s "$abs_png" ] || { echo "$abs_png: chromium wrote no screenshot" >&2; exit 1; }
echo "$abs_png"
