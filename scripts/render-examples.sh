#!/usr/bin/env bash
# The README's examples: for each built-in model, a piano roll of a real 8-bar passage from
# the test split above phrases the model generates, and each as audio (fluidsynth with the
# General MIDI soundfont FluidR3, Ogg Vorbis), written to docs/examples/MODEL/.
#
#   bash scripts/render-examples.sh        # after retraining, just run it again
#
# Needs the data in ../shared/data (or PHRASEGEN_DATA=folder) and the Debian packages
# fluidsynth, fluid-soundfont-gm, vorbis-tools and sox (installed here when run as root).
# Everything is seeded: the same models give the same files.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${PHRASEGEN_DATA:-../shared/data}
OUT=docs/examples
SF2=/usr/share/sounds/sf2/FluidR3_GM.sf2
BIN=target/release/phrasegen
BARS=8
# (seed temperature) pairs generated per model: two seeds as the model plays by default,
# then a low and a high Creativity.
RUNS=("1 1.0" "2 1.0" "1 0.5" "1 1.5")

# --- tools -------------------------------------------------------------------------------
missing=()
command -v fluidsynth >/dev/null || missing+=(fluidsynth)
[ -f "$SF2" ] || missing+=(fluid-soundfont-gm)
command -v oggenc >/dev/null || missing+=(vorbis-tools)
command -v sox >/dev/null || missing+=(sox)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y --no-install-recommends "${missing[@]}" ||
            { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; }
    else
        echo "missing: ${missing[*]}; install with:" >&2
        echo "  sudo apt-get install --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
fi
[ -d "$DATA" ] || { echo "no data folder $DATA (set PHRASEGEN_DATA)" >&2; exit 1; }
cargo build --release --quiet --bin phrasegen

# MIDI file -> Ogg Vorbis with General MIDI program $2 (0-based) on channel 1.
render_audio() {
    local mid=$1 program=$2 ogg=$3 tmp
    tmp=$(mktemp -d)
    printf 'prog 0 %d\n' "$program" >"$tmp/setup"
    fluidsynth -ni -q -r 44100 -g 0.5 -o player.reset-synth=0 -f "$tmp/setup" \
        -F "$tmp/synth.wav" "$SF2" "$mid" >/dev/null
    # Every clip peaks at -3 dBFS, so real and generated play equally loud; a silent
    # phrase stays silent (its dither is not turned up into hiss).
    local peak
    peak=$(sox "$tmp/synth.wav" -n stat 2>&1 | awk '/^Maximum amplitude/ {print $3}')
    if awk -v p="$peak" 'BEGIN { exit !(p > 0.01) }'; then
        sox -q -R "$tmp/synth.wav" "$tmp/out.wav" gain -n -3
    else
        mv "$tmp/synth.wav" "$tmp/out.wav"
    fi
    # A fixed stream serial keeps re-runs byte-identical.
    oggenc -Q -q 2 --serial 1 -o "$ogg" "$tmp/out.wav"
    rm -r "$tmp"
}

# model, test file, first bar, GM program (0-based), instrument name
example() {
    local model=$1 file=$2 from_bar=$3 program=$4 instrument=$5
    local dir=$OUT/$model
    local last_bar=$((from_bar + BARS - 1))
    mkdir -p "$dir"
    rm -f "$dir"/*.mid "$dir"/*.ogg "$dir"/*.png
    local mids=("$dir/real.mid")
    local titles=("real (test split: $file, bars $from_bar-$last_bar)")
    "$BIN" roll "$DATA/$model/test/$file" --from-bar "$from_bar" --bars "$BARS" \
        --midi-out "$dir/real.mid" -o "$dir/roll.png" >/dev/null
    for run in "${RUNS[@]}"; do
        read -r seed temperature <<<"$run"
        local mid=$dir/seed-$seed-t$temperature.mid
        "$BIN" generate --model "$model" --bars "$BARS" --seed "$seed" \
            --temperature "$temperature" -o "$mid" 2>/dev/null
        mids+=("$mid")
        titles+=("generated ($model, seed $seed, T = $temperature)")
    done
    local title_args=()
    for t in "${titles[@]}"; do title_args+=(--title "$t"); done
    "$BIN" roll "${mids[@]}" "${title_args[@]}" --panel-height 330 -o "$dir/roll.png"
    for mid in "${mids[@]}"; do
        render_audio "$mid" "$program" "${mid%.mid}.ogg"
        echo "wrote ${mid%.mid}.ogg ($instrument)"
    done
}

example bach-chorales bwv253.mid 1 19 "church organ"
example fiddle-tunes AcrobatsHornpipe.mid 1 40 violin
