#!/usr/bin/env bash
# Plays PhraseGen (VST3) in headless Ardour and measures the lengths of the notes it sends.
#
# Usage: scripts/ardour-check.sh [BUFFER_SAMPLES...]      (default: 256 1024)
# Env:   ARDOUR_CHECK_SECONDS (play time, default 20), ARDOUR_CHECK_RATE (48000),
#        ARDOUR_CHECK_BUNDLE (default target/bundled/PhraseGen.vst3),
#        ARDOUR_CHECK_DIR (results, default target/ardour-check)
# Needs: Ardour's headless Lua interpreter (Debian/Ubuntu: `apt-get install ardour`),
#        python3, and a built bundle (`cargo xtask bundle phrasegen --release`).
# The bundle is copied to ~/.vst3/ (Ardour's VST3 path). Ardour runs with its own
# throw-away config and cache directories, on the Dummy backend (no sound card).
# For each buffer size it writes DIR/<buffer>/events.txt, the session (with PhraseGen's
# saved phrase) and report.txt, and prints the summary.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
bundle="${ARDOUR_CHECK_BUNDLE:-$root/target/bundled/PhraseGen.vst3}"
out="$(realpath -m "${ARDOUR_CHECK_DIR:-$root/target/ardour-check}")"
export ARDOUR_CHECK_SECONDS="${ARDOUR_CHECK_SECONDS:-20}"
export ARDOUR_CHECK_RATE="${ARDOUR_CHECK_RATE:-48000}"
buffers=("$@")
[ ${#buffers[@]} -gt 0 ] || buffers=(256 1024)

# Ardour's interpreter: the ardourN-lua wrapper knows the library and data paths.
lua_wrapper="$(ls /usr/bin/ardour*-lua 2>/dev/null | sort -V | tail -1 || true)"
if [ -z "$lua_wrapper" ]; then
    echo "error: no ardour*-lua found; install Ardour (apt-get install ardour)" >&2
    exit 2
fi
ardour_lib="$(sed -n 's/^export LD_LIBRARY_PATH=\([^$]*\)\${.*/\1/p' "$lua_wrapper")"
if [ ! -d "$bundle" ]; then
    echo "error: $bundle missing; build it with: cargo xtask bundle phrasegen --release" >&2
    exit 2
fi
mkdir -p "$HOME/.vst3"
rm -rf "$HOME/.vst3/PhraseGen.vst3"
cp -a "$bundle" "$HOME/.vst3/PhraseGen.vst3"

echo "$("$lua_wrapper" --version 2>&1 | head -1)"
status=0
for buf in "${buffers[@]}"; do
    dir="$out/$buf"
    rm -rf "$dir"
    mkdir -p "$dir/data/scripts" "$dir/config" "$dir/cache"
    # The capture processor must be on Ardour's script path.
    cp "$here/ardour/phrasegen_capture.lua" "$dir/data/scripts/"
    export XDG_CONFIG_HOME="$dir/config" XDG_CACHE_HOME="$dir/cache"
    # Index the bundle into this throw-away cache, as Ardour's plugin manager would.
    LD_LIBRARY_PATH="$ardour_lib" "$ardour_lib/ardour-vst3-scanner" -q "$HOME/.vst3/PhraseGen.vst3" \
        > "$dir/scan.log" 2>&1 || { echo "error: VST3 scan failed, see $dir/scan.log" >&2; exit 1; }
    # The wrapper sets ARDOUR_DATA_PATH; a copy puts the capture processor's dir first.
    sed "s|^export ARDOUR_DATA_PATH=|export ARDOUR_DATA_PATH=$dir/data:|" "$lua_wrapper" > "$dir/ardour-lua"
    echo "== buffer $buf samples, $ARDOUR_CHECK_RATE Hz, $ARDOUR_CHECK_SECONDS s =="
    ARDOUR_CHECK_OUT="$dir" ARDOUR_CHECK_BUFFER="$buf" \
        timeout $((ARDOUR_CHECK_SECONDS + 120)) sh "$dir/ardour-lua" "$here/ardour-check.lua" \
        > "$dir/ardour.log" 2>&1 || true
    grep '^ARDOUR-CHECK' "$dir/ardour.log" || true
    if ! grep -q '^ARDOUR-CHECK done' "$dir/ardour.log"; then
        echo "error: Ardour run failed, see $dir/ardour.log" >&2
        status=1
        continue
    fi
    bpm="$(sed -n 's/^ARDOUR-CHECK[[:space:]]tempo[[:space:]]*\([0-9.]*\)$/\1/p' "$dir/ardour.log")"
    python3 "$here/ardour-check-analyze.py" "$dir/events.txt" --session "$dir/session/check.ardour" \
        --rate "$ARDOUR_CHECK_RATE" --bpm "${bpm:-120}" > "$dir/report.txt" || status=1
    sed -n '1,5p' "$dir/report.txt"
done
exit $status
