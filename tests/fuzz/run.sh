#!/usr/bin/env bash
# Builds every fuzz target and runs each for SECONDS_PER_TARGET seconds, one
# after another (never two fuzzers at once), at the lowest CPU priority,
# then prints per target: executions, executions per second, corpus size and
# crashes found. See docs/fuzzing.md.
#
# usage: tests/fuzz/run.sh [SECONDS_PER_TARGET]      (default 60)
#
# Environment:
#   FUZZ_TARGETS    space-separated targets to run (default: all)
#   FUZZ_SANITIZER  address (default) or none (faster, catches only panics)
#   FUZZ_WORK       where the growing corpora and logs go
#                   (default tests/fuzz/target/fuzz-work; kept between runs)
#
# Crashes (and timeouts, out-of-memory inputs) are written to
# tests/fuzz/artifacts/<target>/ and listed at the end; `cargo fuzz tmin`
# minimises one (docs/fuzzing.md). The committed seeds in
# tests/fuzz/corpus/<target>/ are only read: new inputs go to FUZZ_WORK.
#
# The toolchain is stable Rust: cargo fuzz needs two unstable rustc flags
# (-Zsanitizer, and the sancov options it passes through -Cllvm-args are
# stable), so this sets RUSTC_BOOTSTRAP=1 for the fuzz build only. The
# address sanitizer runtime ships with the stable x86_64-unknown-linux-gnu
# standard library. The exit status is 1 when any target crashed.
set -euo pipefail

seconds="${1:-60}"
case "$seconds" in
  '' | *[!0-9]*) echo "run.sh: SECONDS_PER_TARGET must be a whole number" >&2; exit 2 ;;
esac
fuzz="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$fuzz/../.." && pwd)"
sanitizer="${FUZZ_SANITIZER:-address}"
work="${FUZZ_WORK:-$fuzz/target/fuzz-work}"
artifacts="$fuzz/artifacts"
triple="$(rustc -vV | sed -n 's/^host: //p')"
bin="$fuzz/target/$triple/release"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz (cargo install cargo-fuzz --locked)"
  nice -n 19 cargo install cargo-fuzz --locked
fi

all_targets="$(sed -n 's/^name = "\(.*\)"$/\1/p' "$fuzz/Cargo.toml" | grep -v '^ceremony-fuzz$')"
targets="${FUZZ_TARGETS:-$all_targets}"

echo "== building $(echo "$targets" | wc -w) targets (cargo fuzz build -s $sanitizer, stable rustc with RUSTC_BOOTSTRAP=1)"
(
  cd "$repo"
  # cargo fuzz builds every target when none is named; with a subset, one
  # build per target (each is a no-op once the first has built the rest).
  if [ -z "${FUZZ_TARGETS:-}" ]; then
    RUSTC_BOOTSTRAP=1 nice -n 19 cargo fuzz build --fuzz-dir tests/fuzz -s "$sanitizer"
  else
    for t in $targets; do
      RUSTC_BOOTSTRAP=1 nice -n 19 cargo fuzz build --fuzz-dir tests/fuzz -s "$sanitizer" "$t"
    done
  fi
)

mkdir -p "$work/corpus" "$work/logs" "$artifacts"
rows=()
crashed=()
for t in $targets; do
  echo "== $t: ${seconds}s"
  mkdir -p "$work/corpus/$t" "$artifacts/$t" "$fuzz/corpus/$t"
  log="$work/logs/$t.log"
  before="$(find "$artifacts/$t" -type f | wc -l)"
  set +e
  # The first corpus directory receives new inputs; the committed seeds are
  # the second and are only read.
  nice -n 19 "$bin/$t" \
    -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -dict="$fuzz/dict/ceremony.dict" -artifact_prefix="$artifacts/$t/" \
    "$work/corpus/$t" "$fuzz/corpus/$t" >"$log" 2>&1
  status=$?
  set -e
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
  corp="$(grep -o 'corp: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)"
  after="$(find "$artifacts/$t" -type f | wc -l)"
  found=$((after - before))
  if [ "$found" -gt 0 ] || [ "$status" -ne 0 ]; then
    crashed+=("$t")
  fi
  rows+=("$(printf '%-24s %12s %9s %8s %8s' "$t" "${execs:-?}" "${rate:-?}" "${corp:-?}" "$found")")
done

echo
echo "== results: ${seconds}s per target, sanitizer $sanitizer (logs in ${work#"$repo"/}/logs)"
printf '%-24s %12s %9s %8s %8s\n' target executions execs/s corpus crashes
for r in "${rows[@]}"; do echo "$r"; done
if [ "${#crashed[@]}" -gt 0 ]; then
  echo
  echo "== crashes (inputs in ${artifacts#"$repo"/}/<target>/):"
  for t in "${crashed[@]}"; do
    find "$artifacts/$t" -type f | sed 's/^/  /'
    grep -m 1 -A 3 "panicked at\|==ERROR\|ERROR: libFuzzer" "$work/logs/$t.log" | sed 's/^/    /'
  done
  exit 1
fi
