#!/usr/bin/env bash
# Day N: a new unseal key (OpenBao's static seal), and the old one retired
# once OpenBao has rewrapped under the new one (docs/runbooks/rotate-unseal-key.md).
# usage: rotate-unseal-key.sh ROOTDIR HEAD_SHA256 MEDIA BUNDLE -i KEY [BUNDLE -i KEY]...
#   HEAD_SHA256: the SHA-256 of ROOTDIR/root.json as the ceremony log last recorded it.
#   MEDIA: a directory on the removable medium that carries each Secret to the
#     machine that reaches the cluster (they hold unseal keys: shred them there).
#   BUNDLE: ROOTDIR/shares/<name>.age. The rotation replaces these files with
#     the new version's bundles; the Secrets are emitted from the same paths.
# Stops at the first failure; every step is appended to the transcript.
set -euo pipefail
root=${1:?root directory}
# Without a trailing slash: the transcript goes beside the root, never in it
# (a new version of the root replaces its directory whole).
root=${root%/}
head=${2:?SHA-256 of the current root.json, from the ceremony log}
media=${3:?directory on the removable medium}
shift 3
[ $# -gt 0 ] || { echo "give a quorum: BUNDLE -i KEY ..." >&2; exit 2; }
transcript="${TRANSCRIPT:-$root.transcript.jsonl}"
c() { ceremony --transcript "$transcript" "$@"; }
# The Secrets hold key material: owner-only, never over an existing file.
umask 077
set -o noclobber
emit() { # emit FILE BUNDLES…: the static-seal Secret of the current version
  local file=$media/$1 status=0
  shift
  c root emit openbao-static-seal --root "$root" "$@" > "$file" || status=$?
  if [ "$status" != 0 ]; then rm -f -- "$file"; exit "$status"; fi
  echo "Written $file"
}

c preflight
c root verify "$root" --head "$head"
c root rotate --root "$root" --key unseal-key --note "${NOTE:-unseal key rotation}" "$@"
sha256sum "$root/root.json"
echo "Witness: record the new root.json SHA-256 above. Hand out the new bundles in $root/shares/ at the end."
# Both keys: the new one current, the old one as previous_key.
emit static-seal-both.yaml "$@"
echo
echo "Online (runbook steps 5 to 10), with $media/static-seal-both.yaml:"
echo "  kubectl apply -f it; configure OpenBao with the stanza in its header (both keys); restart it."
echo "  Wait until 'bao status' says 'HA Mode active' AND its log says 'core.autoseal: upgrading stored keys'."
echo "  Never restart it with the new key alone before that: it stays sealed."
echo "  bao write -f sys/rotate/root; bao operator rotate; bao operator raft snapshot save FILE"
echo "  shred -u the Secret file."
# Retiring before OpenBao has rewrapped strands it: no quorum could rebuild
# the old key, and the new one alone does not unseal.
read -r -p "Type yes when OpenBao has logged 'upgrading stored keys' and shows 'HA Mode active': " seen
if [ "$seen" != yes ]; then
  echo "Not retiring. Version with both keys kept; retire later with: ceremony root retire --root $root --key unseal-key BUNDLES… -i …" >&2
  exit 1
fi
c root retire --root "$root" --key unseal-key --note "${NOTE:-OpenBao rewrapped under the new unseal key}" "$@"
sha256sum "$root/root.json"
echo "Witness: record the new root.json SHA-256 above."
# The current key only.
emit static-seal.yaml "$@"
echo
echo "Online (runbook steps 13 and 14), with $media/static-seal.yaml: kubectl apply -f it; the stanza"
echo "in its header (current key only); restart OpenBao; wait for 'HA Mode active'; read a known entry;"
echo "shred -u the Secret file. Destroy every copy of the old Secret and the backups taken before the rewrap."
echo "Hand each custodian their new file in $root/shares/; they destroy their old one."
ceremony transcript verify "$transcript"
