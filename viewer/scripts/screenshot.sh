#!/usr/bin/env bash
# Takes docs/viewer.png: the real hb-view window on a recorded sample with a race (by default
# the `mixed-channel-map` scenario of hb-samples), under Xvfb, after pressing "n" to select the
# first finding.
# Needs: xvfb, xdotool, imagemagick (Debian: apt-get install xvfb xdotool imagemagick).
# Usage (from the repository root): bash viewer/scripts/screenshot.sh [OUT.png [SAMPLE]]
set -euo pipefail
out=${1:-docs/viewer.png}
sample=${2:-mixed-channel-map}
display=${HB_SCREENSHOT_DISPLAY:-:97}
work=$(mktemp -d)
cleanup() {
    [[ -n ${view_pid:-} ]] && kill "$view_pid" 2>/dev/null || true
    [[ -n ${xvfb_pid:-} ]] && kill "$xvfb_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

cargo build -q -p hb-viewer --bin hb-view
target=${CARGO_TARGET_DIR:-target}
# Record the sample (its verdict and findings go to the log).
cargo run -q -p hb-samples -- --out "$work" "$sample" >"$work/sample.log" 2>&1 || true
trace="$work/$sample.hbt"
[[ -s $trace ]] || { echo "recording $sample failed" >&2; cat "$work/sample.log" >&2; exit 1; }

Xvfb "$display" -screen 0 1400x820x24 >"$work/xvfb.log" 2>&1 &
xvfb_pid=$!
sleep 1
DISPLAY=$display "$target/debug/hb-view" "$trace" >"$work/view.log" 2>&1 &
view_pid=$!
# Wait for the window, then select the first finding with the keyboard.
for _ in $(seq 50); do
    win=$(DISPLAY=$display xdotool search --name "hb-view" 2>/dev/null | head -1 || true)
    [[ -n $win ]] && break
    sleep 0.2
done
[[ -n ${win:-} ]] || { echo "no hb-view window appeared" >&2; cat "$work/view.log" >&2; exit 1; }
sleep 2
# No window manager under Xvfb: give the window the keyboard focus by clicking an empty
# part of the timeline, then press "n" (next finding).
DISPLAY=$display xdotool windowfocus --sync "$win" 2>/dev/null || true
DISPLAY=$display xdotool mousemove 900 700 click 1
sleep 0.5
DISPLAY=$display xdotool key n
sleep 1
mkdir -p "$(dirname "$out")"
DISPLAY=$display import -window root "$out"
echo "wrote $out"
