#!/usr/bin/env bash
# Renders the plugin editor headless and saves docs/screenshot.png.
# Needs: apt-get install xvfb x11-apps imagemagick (and a Mesa OpenGL driver, as Debian has).
set -euo pipefail
cd "$(dirname "$0")/.."
# The dev profile is optimized enough for a window (and shares the test build).
cargo build --example screenshot
display=:97
Xvfb "$display" -screen 0 1000x700x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true' EXIT
sleep 1
DISPLAY=$display ./target/debug/examples/screenshot 8 &
app=$!
sleep 5
mkdir -p docs
xwd -root -display "$display" | convert xwd:- -crop 900x600+0+0 +repage docs/screenshot.png  # the window's default size
wait $app || true
echo "wrote docs/screenshot.png"
