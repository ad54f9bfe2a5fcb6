#!/usr/bin/env bash
# Day N: a new bootstrap identity (docs/runbooks/rotate-bootstrap-key.md).
# usage: rotate-bootstrap-key.sh ROOTDIR HEAD_SHA256 TREE BUNDLE -i KEY [BUNDLE -i KEY]...
#   HEAD_SHA256: the SHA-256 of ROOTDIR/root.json as the ceremony log last recorded it.
#   TREE: the Git checkout's directory of sealed bootstrap manifests.
# Stops at the first failure; every step is appended to the transcript.
set -euo pipefail
root=${1:?root directory}
# Without a trailing slash: the transcript goes beside the root, never in it
# (a new version of the root replaces its directory whole).
root=${root%/}
head=${2:?SHA-256 of the current root.json, from the ceremony log}
tree=${3:?directory of sealed manifests}
shift 3
[ $# -gt 0 ] || { echo "give a quorum: BUNDLE -i KEY ..." >&2; exit 2; }
transcript="${TRANSCRIPT:-$root.transcript.jsonl}"
c() { ceremony --transcript "$transcript" "$@"; }

# Bundles for --bundle (updatekeys) from the same quorum.
bundles=()
prev=""
for arg in "$@"; do
  if [ "$prev" != "-i" ] && [ "$arg" != "-i" ]; then bundles+=(--bundle "$arg"); else bundles+=("$arg"); fi
  prev=$arg
done

c preflight
c root verify "$root" --head "$head"
c root rotate --root "$root" --key bootstrap-key --note "${NOTE:-bootstrap identity rotation}" "$@"
sha256sum "$root/root.json"
echo "Witness: record the new root.json SHA-256 above. Hand out the new bundles in $root/shares/."
echo
echo "Now edit every .sops.yaml under $tree that names the old recipient; the new one is:"
c root show "$root" | grep 'bootstrap recipient'
read -r -p "Press Enter when .sops.yaml is updated (or there is none) " _
echo "Apply the Flux Secret with both identities (piped, never shown):"
echo "  ceremony root emit flux-age-secret --root $root $* | kubectl apply -f -"
read -r -p "Press Enter when applied " _
c bootstrap updatekeys --root "$root" "${bundles[@]}" "$tree"
c bootstrap verify --root "$root" "$tree"
echo
echo "Commit and push $tree; wait until Flux has reconciled every Kustomization."
read -r -p "Press Enter when Flux is reconciled on the new files " _
c root retire --root "$root" --key bootstrap-key "$@"
sha256sum "$root/root.json"
echo "Witness: record the new root.json SHA-256. Then apply the Flux Secret again (new identity only):"
echo "  ceremony root emit flux-age-secret --root $root <the new bundles> | kubectl apply -f -"
ceremony transcript verify "$transcript"
