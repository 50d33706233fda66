#!/usr/bin/env bash
# hb-recorder's overhead beside ThreadSanitizer's, measured in one run.
#
# Builds bench/workload.c with and without -fsanitize=thread (Debian gcc; libtsan comes
# with it — if the TSan build fails: apt-get install libtsan2), runs both, runs the Rust
# overhead bench (std vs hb types, recording off and on), and prints one Markdown table of
# medians and ratios. Usage: recorder/bench/compare.sh   (from anywhere; ~1 minute after
# the bench is built). CARGO_TARGET_DIR is honored.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${CARGO_TARGET_DIR:-$root/target}/hb-compare"
mkdir -p "$out"

gcc -O2 -Wall -pthread "$here/workload.c" -o "$out/workload"
if ! gcc -O2 -Wall -pthread -fsanitize=thread "$here/workload.c" -o "$out/workload-tsan" 2>"$out/tsan-build.log"; then
    echo "the ThreadSanitizer build failed (is libtsan installed? apt-get install libtsan2):" >&2
    cat "$out/tsan-build.log" >&2
    exit 1
fi
(cd "$root" && cargo bench -q -p hb-recorder --bench overhead --no-run 2>/dev/null) || true

c_plain="$("$out/workload")"
c_tsan="$("$out/workload-tsan")"
rust="$(cd "$root" && cargo bench -q -p hb-recorder --bench overhead -- --machine 2>/dev/null)"

get() { # get <text> <phase> <field>
    awk -v p="$2" -v f="$3" '$1 == "RESULT" && $2 == p { print $f }' <<<"$1"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

echo "| phase | Rust std | hb, recording off | hb, recording | C pthreads | C + TSan |"
echo "| --- | --- | --- | --- | --- | --- |"
for phase in mutex_counter_+_tagged_r/w channel_ping-pong atomic_flag_publication total "(1_thread,_uncontended_lock/unlock)"; do
    s="$(get "$rust" "$phase" 3)"; off="$(get "$rust" "$phase" 4)"; on="$(get "$rust" "$phase" 5)"
    c="$(get "$c_plain" "$phase" 3)"; t="$(get "$c_tsan" "$phase" 3)"
    printf '| %s | %s ms | %s ms (%s) | %s ms (%s) | %s ms | %s ms (%s) |\n' "${phase//_/ }" \
        "$s" "$off" "$(ratio "$off" "$s")" "$on" "$(ratio "$on" "$s")" "$c" "$t" "$(ratio "$t" "$c")"
done
awk '$1 == "EVENTS" { printf "\nhb recorded %d events in %d bytes: %.2f bytes/event\n", $2, $3, $4 }' <<<"$rust"
