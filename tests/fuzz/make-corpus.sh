#!/usr/bin/env bash
# Makes the seed corpus of every fuzz target again, into tests/fuzz/corpus/:
# the SOPS test vectors, what `ceremony demo` and a few more commands write
# (root.json, share sets, share documents and bundles decrypted with the
# demo's throwaway identities, the challenge, the receipt, the TRUSTFILE, a
# signed transcript), signatures made with the real ssh-keygen and minisign
# over the fixed envelope, what examples/make_corpus.rs makes with the
# library, and hand-written edge cases.
#
# usage: tests/fuzz/make-corpus.sh
#
# Needs: cargo, age, ssh-keygen, minisign, python3 (tests/run installs the
# tools). The demo's keys are fresh on every run, so the seeds taken from it
# and fixtures/payload.json change each time; the fuzz keys in fixtures/ do
# not. Nothing here is a real secret.
set -euo pipefail

fuzz="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$fuzz/../.." && pwd)"
corpus="$fuzz/corpus"
fixtures="$fuzz/fixtures"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for tool in cargo age ssh-keygen minisign python3; do
  command -v "$tool" >/dev/null || { echo "make-corpus.sh: $tool is not installed (tests/run installs it)" >&2; exit 1; }
done

seed() { # seed TARGET NAME < bytes
  mkdir -p "$corpus/$1"
  cat >"$corpus/$1/$2"
}
# A seed whose first byte selects a format: 0 YAML, 1 JSON, 2 dotenv, 3 INI,
# 4 binary (+5: bootstrap_check with a creation rule).
seed_sel() { # seed_sel TARGET NAME INDEX FILE
  mkdir -p "$corpus/$1"
  { printf "\\$(printf '%03o' "$3")"; cat "$4"; } >"$corpus/$1/$2"
}

rm -rf "$corpus"
mkdir -p "$corpus"

# ---- the ceremony binary: a demo, then a transcript with a signature
echo "== ceremony demo"
(cd "$repo" && nice -n 19 cargo build --release --quiet)
ceremony="$repo/target/release/ceremony"
demo="$work/demo"
transcript="$work/transcript.jsonl"
"$ceremony" --transcript "$transcript" demo --keep "$demo" >/dev/null 2>&1
"$ceremony" --transcript "$transcript" root verify "$demo/root" >/dev/null 2>&1
"$ceremony" --transcript "$transcript" root show "$demo/root" >/dev/null 2>&1 || true
"$ceremony" --transcript "$transcript" transcript verify "$transcript" >/dev/null 2>&1 || true
"$ceremony" transcript sign "$transcript" --root "$demo/root" --allow-online \
  -i "$demo/alice.agekey" -i "$demo/bob.agekey" "$demo/root/shares/alice.age" "$demo/root/shares/bob.age" >/dev/null 2>&1
cp "$transcript" "$work/signed.jsonl"
"$ceremony" --transcript "$transcript" transcript verify --root "$demo/root" "$transcript" >/dev/null 2>&1 || true

python3 - "$demo/root/root.json" "$fixtures" <<'EOF'
import json, sys
root = json.load(open(sys.argv[1]))
open(sys.argv[2] + "/transcript-root-id.txt", "w").write(root["root_id"] + "\n")
open(sys.argv[2] + "/transcript-root-key.txt", "w").write(root["signing_public_key"] + "\n")
EOF
python3 - "$demo/receipt.json" "$fixtures/payload.json" <<'EOF'
import base64, json, sys
open(sys.argv[2], "wb").write(base64.b64decode(json.load(open(sys.argv[1]))["payload"]))
EOF

seed transcript signed.jsonl <"$work/signed.jsonl"
seed transcript after-signature.jsonl <"$transcript"
head -n 1 "$transcript" | seed transcript one.jsonl
: | seed transcript empty.jsonl
# A scripted ceremony with an exception and two sign-offs (tests/cmd/fixture).
seed transcript witnessed.jsonl <"$repo/tests/cmd/fixture/witnessed/transcript.jsonl"
# Every ceremony script, and answers (one per line) as `ceremony run` reads them.
for script in "$repo"/ceremonies/*.toml; do
  seed script "$(basename "$script")" <"$script"
done
seed script answers.txt <<'ANSWERS'
{ step = "offline", confirmed_by = "wanda" }
{ step = "rewrap", refused_by = "walt" }
{ step = "init", exception = "a typo", run = ["root", "init", "--yes"], accepted_by = "wanda" }
{ step = "verify", stop = true }
ANSWERS

seed root_manifest root.json <"$demo/root/root.json"
seed shareset unseal.json <"$demo/unseal/shareset.json"
seed shareset reshared.json <"$demo/unseal-reshared/shareset.json"
for who in alice bob carol; do
  age -d -i "$demo/$who.agekey" "$demo/unseal/$who.share.age" | seed share_document "demo-$who.json"
  age -d -i "$demo/$who.agekey" "$demo/root/shares/$who.age" | seed root_bundle "demo-$who.json"
  seed identity_file "$who.agekey" <"$demo/$who.agekey"
done
age -d -i "$demo/dave.agekey" "$demo/unseal-reshared/dave.share.age" | seed share_document demo-dave-reshared.json
seed challenge challenge.json <"$demo/challenge.json"
seed dsse_envelope receipt.json <"$demo/receipt.json"
seed statement receipt-payload.json <"$fixtures/payload.json"
seed trustfile demo-trust.txt <"$demo/trust.txt"
seed custodians demo.toml <"$demo/custodians.toml"
seed custodians demo-new.toml <"$demo/new-custodians.toml"
grep -ho 'age1[a-z0-9]*' "$demo/custodians.toml" | paste -sd, - | seed recipients demo-list.txt
for f in "$demo"/bootstrap/*.yaml; do
  n="$(basename "$f")"
  seed sops_encrypted_yaml "demo-$n" <"$f"
  seed sealed_items "demo-$n" <"$f"
  seed_sel bootstrap_check "demo-$n" 0 "$f"
done
seed sops_encrypted_dotenv demo-app-settings.env <"$demo/bootstrap/app-settings.env"
seed_sel bootstrap_check demo-app-settings.env 2 "$demo/bootstrap/app-settings.env"
seed sops_plain_yaml demo-forgotten-secret.yaml <"$demo/forgotten-secret.yaml"
seed_sel kube_objects demo-forgotten-secret.yaml 0 "$demo/forgotten-secret.yaml"
seed_sel bootstrap_check demo-forgotten-secret.yaml 0 "$demo/forgotten-secret.yaml"

# ---- the SOPS test vectors (made by the real sops 3.11)
vectors="$repo/tests/vectors/sops"
for f in "$vectors"/*.plain.* "$vectors"/*.enc.*; do
  n="$(basename "$f")"
  case "$n" in
    *.yaml) fmt=yaml idx=0 ;; *.json) fmt=json idx=1 ;; *.env) fmt=dotenv idx=2 ;;
    *.ini) fmt=ini idx=3 ;; *) fmt=binary idx=4 ;;
  esac
  case "$n" in
    *.plain.*)
      [ "$fmt" = binary ] || seed "sops_plain_$fmt" "vector-$n" <"$f"
      seed_sel sops_roundtrip "vector-$n" "$idx" "$f"
      [ "$idx" -gt 1 ] || seed_sel kube_objects "vector-$n" "$idx" "$f"
      ;;
    *)
      seed "sops_encrypted_$fmt" "vector-$n" <"$f"
      seed_sel bootstrap_check "vector-$n" "$idx" "$f"
      [ "$fmt" != yaml ] || seed sealed_items "vector-$n" <"$f"
      ;;
  esac
done
seed sops_config vector-shamir.sops.yaml <"$vectors/shamir.sops.yaml"
seed identity_file vector-both.agekey <"$vectors/both.agekey"

# ---- what the library makes: sealed SOPS files, shares, Vault output,
# ed25519 and transit signatures, the TRUSTFILE
echo "== examples/make_corpus.rs"
(cd "$fuzz" && nice -n 19 cargo run --quiet --release --example make_corpus -- "$corpus" "$fixtures")

# ---- the real signing tools over the fixed envelope's PAE
echo "== ssh-keygen -Y sign, minisign -S"
cp "$fixtures/pae.bin" "$work/pae.bin"
ssh-keygen -q -Y sign -n ceremony-handover-receipt -f "$fixtures/sshsig.key" "$work/pae.bin"
seed sig_sshsig receipt.sig <"$work/pae.bin.sig"
rm "$work/pae.bin.sig"
ssh-keygen -q -Y sign -n file -f "$fixtures/sshsig.key" "$work/pae.bin"
seed sig_sshsig wrong-namespace.sig <"$work/pae.bin.sig"
minisign -S -s "$fixtures/minisign.key" -m "$work/pae.bin" -x "$work/pre.minisig" -t "handover receipt" >/dev/null
seed sig_minisign prehashed.minisig <"$work/pre.minisig"
minisign -S -l -s "$fixtures/minisign.key" -m "$work/pae.bin" -x "$work/legacy.minisig" >/dev/null
seed sig_minisign legacy.minisig <"$work/legacy.minisig"
sed 's/$/\r/' "$work/pre.minisig" | seed sig_minisign crlf.minisig
seed identity_file openssh-ed25519.key <"$fixtures/sshsig.key"

# ---- hand-written edge cases
seed sops_config rules.yaml <<'EOF'
creation_rules:
  - path_regex: ^apps/.*\.yaml$
    encrypted_regex: ^(data|stringData)$
    age: age1hjhvchduync68mdzs6z3jfsaptfzlh8rnz6m3l05gurchg2rdqgqhr768q
  - path_regex: \.env$
    key_groups:
      - age:
          - age1hjhvchduync68mdzs6z3jfsaptfzlh8rnz6m3l05gurchg2rdqgqhr768q
      - age:
          - age12a458a4jmra67m0zqq2hku42sklv57z02ga5n8zht3fegthlxp6qw2cx9n
    shamir_threshold: 2
    mac_only_encrypted: true
  - age: >-
      age1hjhvchduync68mdzs6z3jfsaptfzlh8rnz6m3l05gurchg2rdqgqhr768q,
      age12a458a4jmra67m0zqq2hku42sklv57z02ga5n8zht3fegthlxp6qw2cx9n
    unencrypted_suffix: _plain
EOF
seed sops_config refused.yaml <<'EOF'
creation_rules:
  - path_regex: '('
    pgp: ABCDEF
    age: AGE-SECRET-KEY-1JUHSQ02DGCKH45FR6UTGEWV24AF2AUWU7ZKDVC56WEEMHNRP3LCQGWSAPP
    encrypted_regexp: typo
EOF
# The X25519 stanza as the Go age writes it, to the test recipient R1 (the
# age crate's and ceremony's come from examples/make_corpus.rs).
printf x | age -r age1hjhvchduync68mdzs6z3jfsaptfzlh8rnz6m3l05gurchg2rdqgqhr768q | sed -n '2,3p' |
  seed x25519_stanza go-age.txt
seed recipients mixed.txt <<'EOF'
 age1hjhvchduync68mdzs6z3jfsaptfzlh8rnz6m3l05gurchg2rdqgqhr768q , ,ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINhup1FMcpLTLI/YHxb5cx9Q0cISdmoHG+1epIOPqS2q fuzz,age1hjhvchduync68mdzs6z3jfsaptfzlh8rnz6m3l05gurchg2rdqgqhr768q
EOF
printf 'age1hjhvchduync68mdzs6z3jfsaptfzlh8rnz6m3l05gurchg2rdqgqhr768q,AGE-SECRET-KEY-1JUHSQ02DGCKH45FR6UTGEWV24AF2AUWU7ZKDVC56WEEMHNRP3LCQGWSAPP' |
  seed recipients pasted-private.txt
seed custodians all-kinds.toml <<'EOF'
[threshold]
unseal = 2
signing = 3

[[custodian]]
name = "alice"
age = "age1hjhvchduync68mdzs6z3jfsaptfzlh8rnz6m3l05gurchg2rdqgqhr768q"

[[custodian]]
name = "bob.smith_2"
ssh = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINhup1FMcpLTLI/YHxb5cx9Q0cISdmoHG+1epIOPqS2q bob@laptop"

[[custodian]]
name = "carol"
passphrase = true
EOF
seed custodians pasted-private.toml <<'EOF'
[[custodian]]
name = "alice"
age = "AGE-SECRET-KEY-1JUHSQ02DGCKH45FR6UTGEWV24AF2AUWU7ZKDVC56WEEMHNRP3LCQGWSAPP"

[[custodian]]
name = "ALICE"
passphrase = false
EOF
seed trustfile every-option.txt <<'EOF'
# comment

ed25519	A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg= lead
sshsig a@x,b@y namespaces="ceremony-handover-receipt,file" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINhup1FMcpLTLI/YHxb5cx9Q0cISdmoHG+1epIOPqS2q c
sshsig a@x cert-authority ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINhup1FMcpLTLI/YHxb5cx9Q0cISdmoHG+1epIOPqS2q
transit k v12 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=
EOF
seed identity_file pasted-twice.txt <<'EOF'
# created: 2026-11-26T13:23:29Z
AGE-SECRET-KEY-1JUHSQ02DGCKH45FR6UTGEWV24AF2AUWU7ZKDVC56WEEMHNRP3LCQGWSAPP
AGE-SECRET-KEY-1JUHSQ02DGCKH45FR6UTGEWV24AF2AUWU7ZKDVC56WEEMHNRP3LCQGWSAPX
EOF
seed sops_plain_yaml edge-aliases.yaml <<'EOF'
a: &a [1, 2, &b {x: S3CR3T-1}]
b: [*a, *a, *b]
c: !!str 12
d: !!int "12"
e: 0x1F
f: .inf
g: -.NaN
h: 9223372036854775808
"quoted key": 'single ''quote'''
? complex
: value
EOF
seed sops_plain_dotenv edge.env <<'EOF'
export A=1
B="multi
line S3CR3T"
C='single S3CR3T'
=novalue
D==
EOF
seed sops_plain_ini edge.ini <<'EOF'
top = level
[a]
k = v ; trailing
[a]
k = again
[b c]
x: colon S3CR3T
EOF
seed sops_plain_json edge.json <<'EOF'
{"a": 1e400, "b": -0, "c": "\ud800", "d": {"": [[]]}, "e": 12345678901234567890}
EOF
printf '\x02{"unseal_keys_b64": ["AAAA"], "unseal_shares": 1}' | seed vault_init single.json

echo "== seeds per target"
for d in "$corpus"/*/; do
  printf '%-24s %s\n' "$(basename "$d")" "$(find "$d" -type f | wc -l)"
done
