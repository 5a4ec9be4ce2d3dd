#!/usr/bin/env bash
# The README's examples: for each built-in model, a piano roll of a real 8-bar passage from
# the test split above phrases the model generates, and each as audio (fluidsynth with the
# General MIDI soundfont FluidR3, Ogg Vorbis), written to docs/examples/MODEL/; then
# `phrasegen harmonize` under the top line of a test chorale (docs/examples/harmonize/) and
# `phrasegen accompany` over a chord progression (docs/examples/accompany/).
#
#   bash scripts/render-examples.sh        # after retraining, just run it again
#   ONLY=harmonize bash scripts/render-examples.sh   # one part: a model's name, harmonize
#                                                    # or accompany (after a sampler change)
#
# Needs the data in ../shared/data (or PHRASEGEN_DATA=folder), python3 (it writes the chords,
# scripts/chords-midi.py) and the Debian packages fluidsynth, fluid-soundfont-gm,
# vorbis-tools and sox (installed here when run as root).
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
command -v python3 >/dev/null || missing+=(python3)
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

# MIDI file $1 -> WAV $3 with General MIDI program $2 (0-based) on channel 1.
synth_wav() {
    local mid=$1 program=$2 wav=$3 tmp
    tmp=$(mktemp -d)
    printf 'prog 0 %d\n' "$program" >"$tmp/setup"
    fluidsynth -ni -q -r 44100 -g 0.5 -o player.reset-synth=0 -f "$tmp/setup" \
        -F "$wav" "$SF2" "$mid" >/dev/null
    rm -r "$tmp"
}

# WAV $1 -> Ogg Vorbis $2.
wav_to_ogg() {
    local wav=$1 ogg=$2 tmp
    tmp=$(mktemp -d)
    # Every clip peaks at -3 dBFS, so real and generated play equally loud; a silent
    # phrase stays silent (its dither is not turned up into hiss).
    local peak
    peak=$(sox "$wav" -n stat 2>&1 | awk '/^Maximum amplitude/ {print $3}')
    if awk -v p="$peak" 'BEGIN { exit !(p > 0.01) }'; then
        sox -q -R "$wav" "$tmp/out.wav" gain -n -3
    else
        cp "$wav" "$tmp/out.wav"
    fi
    # A fixed stream serial keeps re-runs byte-identical.
    oggenc -Q -q 2 --serial 1 -o "$ogg" "$tmp/out.wav"
    rm -r "$tmp"
}

# MIDI file -> Ogg Vorbis with General MIDI program $2 (0-based) on channel 1.
render_audio() {
    local mid=$1 program=$2 ogg=$3 tmp
    tmp=$(mktemp -d)
    synth_wav "$mid" "$program" "$tmp/synth.wav"
    wav_to_ogg "$tmp/synth.wav" "$ogg"
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

# The parts asked for by ONLY (all when it is unset).
wanted() { [ -z "${ONLY:-}" ] || [ "$ONLY" = "$1" ]; }

wanted bach-chorales && example bach-chorales bwv253.mid 1 19 "church organ"
wanted fiddle-tunes && example fiddle-tunes AcrobatsHornpipe.mid 1 40 violin

# --- following given music: harmonize and accompany ---------------------------------------
# `phrasegen harmonize`: 8 bars of a test chorale (Bach's own four parts) and the three voices
# bach-chorales writes under its top line, as a piano roll and as audio (church organ).
harmonize_example() {
    local file=bwv104.6.mid dir=$OUT/harmonize
    mkdir -p "$dir"
    rm -f "$dir"/*.mid "$dir"/*.ogg "$dir"/*.png
    "$BIN" roll "$DATA/bach-chorales/test/$file" --bars "$BARS" \
        --midi-out "$dir/bach.mid" -o "$dir/roll.png" >/dev/null
    "$BIN" harmonize "$dir/bach.mid" -o "$dir/harmonized.mid" --seed 1 2>/dev/null
    "$BIN" roll "$dir/bach.mid" "$dir/harmonized.mid" \
        --title "Bach (test split: $file, bars 1-$BARS)" \
        --title "its top line harmonized by bach-chorales (phrasegen harmonize, seed 1)" \
        -o "$dir/roll.png"
    for mid in "$dir/bach.mid" "$dir/harmonized.mid"; do
        render_audio "$mid" 19 "${mid%.mid}.ogg"
        echo "wrote ${mid%.mid}.ogg (church organ)"
    done
}

# `phrasegen accompany`: G major, I vi IV V twice, a bar each (scripts/chords-midi.py), and
# the line fiddle-tunes plays over it: the line on a violin, the chords on a piano, mixed.
accompany_example() {
    local dir=$OUT/accompany tmp
    mkdir -p "$dir"
    rm -f "$dir"/*.mid "$dir"/*.ogg "$dir"/*.png
    python3 scripts/chords-midi.py "$dir/chords.mid"
    "$BIN" accompany "$dir/chords.mid" --with-chords -o "$dir/line-with-chords.mid" \
        --seed 1 2>/dev/null
    "$BIN" roll "$dir/chords.mid" "$dir/line-with-chords.mid" \
        --title "chords: G major, I vi IV V twice" \
        --title "the line fiddle-tunes plays over them (phrasegen accompany --with-chords, seed 1)" \
        -o "$dir/roll.png"
    tmp=$(mktemp -d)
    # The same seed without --with-chords: the same line alone, to give it its own instrument.
    "$BIN" accompany "$dir/chords.mid" -o "$tmp/line.mid" --seed 1 >/dev/null 2>&1
    synth_wav "$tmp/line.mid" 40 "$tmp/line.wav"
    synth_wav "$dir/chords.mid" 0 "$tmp/chords.wav"
    sox -q -R -m -v 1.0 "$tmp/line.wav" -v 0.7 "$tmp/chords.wav" "$tmp/mix.wav"
    wav_to_ogg "$tmp/mix.wav" "$dir/line-with-chords.ogg"
    rm -r "$tmp"
    echo "wrote $dir/line-with-chords.ogg (violin over piano)"
}

if wanted harmonize; then harmonize_example; fi
if wanted accompany; then accompany_example; fi
