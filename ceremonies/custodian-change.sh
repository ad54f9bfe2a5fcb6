#!/usr/bin/env bash
# Day N: share every root secret with a new set of custodians (docs/runbooks/custodian-change.md).
# usage: custodian-change.sh ROOTDIR HEAD_SHA256 NEW_CUSTODIANS BUNDLE -i KEY [BUNDLE -i KEY]...
#   ROTATE=1 also replaces every root secret (a custodian left on bad terms).
# Stops at the first failure; every step is appended to the transcript.
set -euo pipefail
root=${1:?root directory}
# Without a trailing slash: the transcript goes beside the root, never in it
# (a new version of the root replaces its directory whole).
root=${root%/}
head=${2:?SHA-256 of the current root.json, from the ceremony log}
new=${3:?new custodians file}
shift 3
[ $# -gt 0 ] || { echo "give a quorum of the current custodians: BUNDLE -i KEY ..." >&2; exit 2; }
transcript="${TRANSCRIPT:-$root.transcript.jsonl}"
c() { ceremony --transcript "$transcript" "$@"; }

c preflight
c root verify "$root" --head "$head"
if [ "${ROTATE:-0}" = 1 ]; then
  c root rotate --root "$root" --custodians "$new" \
    --key unseal-key --key bootstrap-key --key signing-key \
    --note "${NOTE:-custodians changed; every secret rotated}" "$@"
  echo "Every secret is new: follow docs/runbooks/rotate-unseal-key.md and rotate-bootstrap-key.md for OpenBao and Git."
else
  c root reshare --root "$root" --custodians "$new" --note "${NOTE:-custodians changed}" "$@"
fi
c root verify "$root"
sha256sum "$root/root.json" "$root"/shares/*.age
echo "Witness: record the digests above. Each new custodian now runs, in front of the witness:"
echo "  age -d -i <their key> $root/shares/<name>.age > /dev/null"
echo "Every custodian destroys their old bundle."
ceremony transcript verify "$transcript"
