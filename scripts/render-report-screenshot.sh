#!/usr/bin/env bash
# Screenshot a rendered reports folder as a person would see it: headless Chromium, no network.
#
#   scripts/render-report-screenshot.sh REPORTS_DIR OUT.png [WIDTHxHEIGHT]
#
# REPORTS_DIR must hold index.html (python -m harness.report.render REPORTS_DIR writes it).
# The window defaults to 1400x2000 CSS pixels; $CHROMIUM overrides the browser binary.
set -euo pipefail

if [ "$#" -lt 2 ] || [ "$#" -gt 3 ]; then
    echo "usage: $0 REPORTS_DIR OUT.png [WIDTHxHEIGHT]" >&2
    exit 2
fi
reports=$1
out=$2
size=${3:-1400x2000}
case $size in
    *[!0-9x]* | x* | *x | *x*x*) echo "$0: size must look like 1400x2000, got '$size'" >&2; exit 2 ;;
esac

page="$reports/index.html"
if [ ! -f "$page" ]; then
    echo "$0: $page not found (render it first: python -m harness.report.render $reports)" >&2
    exit 1
fi

browser=${CHROMIUM:-}
if [ -z "$browser" ]; then
    for name in chromium chromium-browser google-chrome; do
        if command -v "$name" >/dev/null 2>&1; then browser=$name; break; fi
    done
fi
if [ -z "$browser" ]; then
    echo "$0: no chromium on PATH (Debian: apt-get install -y chromium)" >&2
    exit 127
fi

page_abs=$(cd "$(dirname "$page")" && pwd)/$(basename "$page")
out_dir=$(dirname "$out")
mkdir -p "$out_dir"
out_abs=$(cd "$out_dir" && pwd)/$(basename "$out")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
rm -f "$out_abs"

# file:// URL: percent-encode the characters that would break it.
url="file://$(printf '%s' "$page_abs" | sed -e 's/%/%25/g' -e 's/ /%20/g' -e 's/#/%23/g' -e 's/?/%3F/g')"

"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-dev-shm-usage --hide-scrollbars \
    --user-data-dir="$profile" --screenshot="$out_abs" --window-size="${size/x/,}" \
    "$url" >"$profile/chromium.log" 2>&1 || {
        status=$?
        echo "$0: $browser failed (exit $status):" >&2
        tail -n 20 "$profile/chromium.log" >&2
        exit "$status"
    }

if [ ! -s "$out_abs" ]; then
    echo "$0: $browser wrote no screenshot to $out_abs:" >&2
    tail -n 20 "$profile/chromium.log" >&2
    exit 1
fi
echo "$out_abs"
