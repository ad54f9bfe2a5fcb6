#!/usr/bin/env bash
# Day N: a leaked bootstrap Secret value (docs/runbooks/credential-leak.md).
# usage: credential-leak.sh ROOTDIR HEAD_SHA256 TREE AUTHORITY FILE:ITEM [FILE:ITEM]... -- BUNDLE -i KEY [BUNDLE -i KEY]...
#   HEAD_SHA256: the SHA-256 of ROOTDIR/root.json as the ceremony log last recorded it.
#   TREE: the Git checkout's directory of sealed bootstrap manifests.
#   AUTHORITY: the runtime authority's name in the TRUSTFILE, e.g. openbao-prod.
#   FILE:ITEM: a sealed manifest and the item in it whose value leaked,
#     e.g. "$TREE/apps/db.yaml:apps/db/password" (ITEM is NAMESPACE/NAME/KEY).
# Each new value is typed at a hidden prompt, twice: never in a file or on a command line.
# Stops at the first failure; every ceremony step is appended to the transcript.
set -euo pipefail
root=${1:?root directory}
# Without a trailing slash: the transcript goes beside the root, never in it
# (a new version of the root replaces its directory whole).
root=${root%/}
head=${2:?SHA-256 of the current root.json, from the ceremony log}
tree=${3:?directory of sealed manifests}
authority=${4:?runtime authority name}
shift 4
leaked=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do leaked+=("$1"); shift; done
[ ${#leaked[@]} -gt 0 ] || { echo "name at least one FILE:ITEM" >&2; exit 2; }
[ "${1:-}" = "--" ] || { echo "give the quorum after --: BUNDLE -i KEY ..." >&2; exit 2; }
shift
[ $# -gt 0 ] || { echo "give a quorum: BUNDLE -i KEY ..." >&2; exit 2; }
transcript="${TRANSCRIPT:-$root.transcript.jsonl}"
challenge="${CHALLENGE:-leak-challenge.json}"
c() { ceremony --transcript "$transcript" "$@"; }

# Bundles for --bundle (bootstrap set) from the same quorum.
bundles=()
prev=""
for arg in "$@"; do
  if [ "$prev" != "-i" ] && [ "$arg" != "-i" ]; then bundles+=(--bundle "$arg"); else bundles+=("$arg"); fi
  prev=$arg
done

echo "First, each leaked credential must be changed at its source (a new password,"
echo "the token revoked and reissued): Git history keeps the old value sealed for good."
for entry in "${leaked[@]}"; do echo "  ${entry##*:}"; done
read -r -p "Press Enter when every one of them is changed at its source " _

c preflight
c root verify "$root" --head "$head"
c bootstrap verify --root "$root" "$tree"
items=()
for entry in "${leaked[@]}"; do
  file=${entry%:*}
  item=${entry##*:}
  echo "The new value of $item, in $file:"
  c bootstrap set "$file" --item "$item" --root "$root" "${bundles[@]}"
  items+=(--item "$item")
done
c bootstrap verify --root "$root" "$tree"
echo
echo "Commit and push $tree; wait until Flux has reconciled every Kustomization."
read -r -p "Press Enter when Flux has applied the new Secrets " _
c handover challenge --root "$root" --bootstrap "$tree" --authority "$authority" "${items[@]}" --out "$challenge"
sha256sum "$challenge"
echo "Witness: record the challenge's SHA-256. Carry $challenge to the runtime side, which, per item:"
echo "  kubectl get secret -n NS NAME -o jsonpath='{.data.KEY}' | base64 -d | bao kv patch -mount=secret NS/NAME KEY=-"
echo "  (then deletes the bootstrap Secret again)"
echo "  bao kv get -format=json -mount=secret NS/NAME > kv/NS/NAME.json"
echo "  ceremony handover receipt --challenge $challenge --kv kv --authority $authority --unsigned --out receipt.json"
echo "  signs receipt.json.pae with transit and runs ceremony handover attach-signature (docs/handover.md)"
read -r -p "The signed receipt, carried back [receipt.json]: " receipt
read -r -p "The TRUSTFILE [TRUSTFILE]: " trust
c handover verify --challenge "$challenge" --receipt "${receipt:-receipt.json}" --trust "${trust:-TRUSTFILE}" \
  --bootstrap "$tree" --deep --root "$root" "$@"
ceremony transcript verify "$transcript"
