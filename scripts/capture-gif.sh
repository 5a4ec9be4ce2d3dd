#!/usr/bin/env bash
# Records docs/phrasegen.gif: the real editor window (the `screenshot` example, the plugin
# playing in the test host) driven headless under Xvfb with xdotool: Creativity turned up,
# Back and Next through the history, and the phrase dragged out by its "Drag .mid" handle.
# Xvfb draws no pointer, so each frame gets the pointer drawn in where xdotool put it (and,
# while dragging, the file it carries). The drop itself is tested in tests/drag_x11.rs; the
# recording ends before the release, as no DAW is running here to take the file.
# Needs: apt-get install xvfb x11-apps imagemagick xdotool gifsicle
set -euo pipefail
cd "$(dirname "$0")/.."
# The dev profile is optimized enough for a window (and shares the test build).
cargo build --example screenshot
display=:96
frames=$(mktemp -d)
Xvfb "$display" -screen 0 1000x700x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true; rm -rf "$frames"' EXIT
sleep 1
export DISPLAY=$display
./target/debug/examples/screenshot 120 >/dev/null 2>&1 &
app=$!
sleep 5

n=0
# frame X Y [CARRYING]: moves the pointer to X,Y, waits a moment and records a frame with the
# pointer (and a file label when CARRYING) drawn in.
frame() {
  local x=$1 y=$2 carrying=${3:-}
  xdotool mousemove "$x" "$y"
  sleep 0.12
  local extra=()
  if [[ -n $carrying ]]; then
    extra=(-fill '#2a2d36' -stroke '#ffc83c' -draw "roundrectangle $((x + 14)),$((y + 14)) $((x + 118)),$((y + 36)) 4,4"
      -stroke none -fill '#ffc83c' -pointsize 13 -annotate "+$((x + 22))+$((y + 30))" 'PhraseGen.mid')
  fi
  xwd -root | convert xwd:- -crop 900x600+0+0 +repage \
    -fill white -stroke black -strokewidth 1 \
    -draw "polygon $x,$y $x,$((y + 17)) $((x + 4)),$((y + 13)) $((x + 8)),$((y + 20)) $((x + 10)),$((y + 19)) $((x + 6)),$((y + 12)) $((x + 12)),$((y + 12))" \
    -strokewidth 1 "${extra[@]}" "$frames/$(printf %04d $n).png"
  n=$((n + 1))
}
# glide X0 Y0 X1 Y1 STEPS [CARRYING]: frames along a straight line.
glide() {
  local x0=$1 y0=$2 x1=$3 y1=$4 steps=$5 carrying=${6:-}
  for ((i = 1; i <= steps; i++)); do
    frame $((x0 + (x1 - x0) * i / steps)) $((y0 + (y1 - y0) * i / steps)) "$carrying"
  done
}
hold() { for ((i = 0; i < $3; i++)); do frame "$1" "$2"; done; }

# Positions in the window at its default size (see docs/screenshot.png).
creativity=(168 389); back=(492 10); next=(545 10); drag=(252 34)

hold 420 200 6
glide 420 200 "${creativity[@]}" 6
xdotool mousedown 1
glide "${creativity[@]}" 184 389 8
xdotool mouseup 1
hold 184 389 12
glide 184 389 "${back[@]}" 5
xdotool click 1
hold "${back[@]}" 8
xdotool click 1
hold "${back[@]}" 8
glide "${back[@]}" "${next[@]}" 3
xdotool click 1
hold "${next[@]}" 8
glide "${next[@]}" "${drag[@]}" 5
xdotool mousedown 1
glide "${drag[@]}" 820 240 10 carrying
hold_carry() { for ((i = 0; i < $1; i++)); do frame 820 240 carrying; done; }
hold_carry 3
kill $app 2>/dev/null || true

mkdir -p docs
convert -delay 12 -loop 0 "$frames"/*.png -resize 640x427 -layers Optimize "$frames/raw.gif"
gifsicle -O3 --colors 96 --lossy=40 "$frames/raw.gif" -o docs/phrasegen.gif 2>/dev/null ||
  gifsicle -O3 --colors 96 "$frames/raw.gif" -o docs/phrasegen.gif
echo "wrote docs/phrasegen.gif ($n frames, $(du -k docs/phrasegen.gif | cut -f1) KB)"
