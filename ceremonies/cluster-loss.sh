#!/usr/bin/env bash
# Day N: the cluster is lost, or its drill: the seal and Flux Secrets emitted
# again, a challenge for the restored OpenBao, and its receipt verified
# (docs/runbooks/cluster-loss.md).
# usage: cluster-loss.sh ROOTDIR HEAD_SHA256 TREE AUTHORITY TRUSTFILE MEDIA BUNDLE -i KEY [BUNDLE -i KEY]...
#   HEAD_SHA256: the SHA-256 of ROOTDIR/root.json as the ceremony log last recorded it.
#   TREE: the Git checkout's directory of sealed bootstrap manifests.
#   AUTHORITY, TRUSTFILE: the authority's name, and the TRUSTFILE holding the
#     line of its transit key recorded before the loss.
#   MEDIA: an empty directory on the removable medium that carries files to the
#     machine that reaches the new cluster and back (the Secrets hold keys:
#     shred them there).
# Stops at the first failure; every step is appended to the transcript.
set -euo pipefail
root=${1:?root directory}
# Without a trailing slash: the transcript goes beside the root, never in it
# (a new version of the root replaces its directory whole).
root=${root%/}
head=${2:?SHA-256 of the current root.json, from the ceremony log}
tree=${3:?directory of sealed manifests}
authority=${4:?authority name}
trust=${5:?TRUSTFILE}
media=${6:?directory on the removable medium}
shift 6
[ $# -gt 0 ] || { echo "give a quorum: BUNDLE -i KEY ..." >&2; exit 2; }
[ -f "$trust" ] || { echo "$trust: no TRUSTFILE" >&2; exit 2; }
transcript="${TRANSCRIPT:-$root.transcript.jsonl}"
c() { ceremony --transcript "$transcript" "$@"; }
# The Secrets hold key material: owner-only, never over an existing file.
umask 077
set -o noclobber
emit() { # emit WHAT FILE BUNDLES…
  local what=$1 file=$media/$2 status=0
  shift 2
  c root emit "$what" --root "$root" "$@" > "$file" || status=$?
  if [ "$status" != 0 ]; then rm -f -- "$file"; exit "$status"; fi
  echo "Written $file"
}

c preflight
c root verify "$root" --head "$head"
# Git's intent opens with this root: every Secret sealed to its recipient.
c bootstrap verify --root "$root" "$tree"
emit openbao-static-seal openbao-static-seal.yaml "$@"
emit flux-age-secret sops-age.yaml "$@"
c handover challenge --root "$root" --bootstrap "$tree" --authority "$authority" \
  --expires "${EXPIRES:-24h}" --out "$media/challenge.json"
sha256sum "$media/challenge.json"
echo "Witness: record the challenge's SHA-256 above."
echo
echo "Online (runbook steps 7 to 14): apply openbao-static-seal.yaml; OpenBao with the stanza in its"
echo "header on empty storage; scratch init; restore the snapshot WITHOUT -force; wait until active;"
echo "restart once; compare the transit key with $trust; apply sops-age.yaml; let Flux reconcile;"
echo "shred both Secret files. Then, for every NAMESPACE/NAME the challenge lists:"
echo "  bao kv get -format=json -mount=secret NAMESPACE/NAME > kv/NAMESPACE/NAME.json"
echo "  ceremony handover receipt --challenge challenge.json --kv kv --kv-mount secret \\"
echo "      --authority $authority --unsigned --out receipt.json"
echo "  bao write -field=signature transit/sign/KEY input=\$(base64 -w0 receipt.json.pae) > receipt.sig"
echo "  ceremony handover attach-signature receipt.json --scheme transit --signature receipt.sig"
echo "  find kv -type f -exec shred -u {} +; copy receipt.json to $media/"
read -r -p "Press Enter when $media/receipt.json is the signed receipt " _
# The restored authority, whose key was pinned before the loss, holds
# exactly the values sealed in Git.
c handover verify --challenge "$media/challenge.json" --receipt "$media/receipt.json" \
  --trust "$trust" --bootstrap "$tree" --deep --root "$root" "$@"
echo
echo "The authority is restored. A quorum seals the transcript:"
echo "  ceremony transcript sign $transcript --root $root $root/shares/<a>.age $root/shares/<b>.age -i … -i …"
ceremony transcript verify "$transcript"
