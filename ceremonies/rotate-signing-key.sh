#!/usr/bin/env bash
# Day N: a new root signing key (docs/runbooks/rotate-signing-key.md).
# usage: rotate-signing-key.sh ROOTDIR HEAD_SHA256 FIRST_ROOT_JSON BUNDLE -i KEY [BUNDLE -i KEY]...
#   FIRST_ROOT_JSON: the copy of the root's first root.json kept out of band.
# Stops at the first failure; every step is appended to the transcript.
set -euo pipefail
root=${1:?root directory}
# Without a trailing slash: the transcript goes beside the root, never in it
# (a new version of the root replaces its directory whole).
root=${root%/}
head=${2:?SHA-256 of the current root.json, from the ceremony log}
first=${3:?the first root.json, kept out of band}
shift 3
[ $# -gt 0 ] || { echo "give a quorum: BUNDLE -i KEY ..." >&2; exit 2; }
transcript="${TRANSCRIPT:-$root.transcript.jsonl}"
c() { ceremony --transcript "$transcript" "$@"; }

c preflight
c root verify "$root" --head "$head" --anchor "$first"
c root rotate --root "$root" --key signing-key --note "${NOTE:-signing key rotation}" "$@"
c root verify "$root" --anchor "$first"
c root show "$root"
sha256sum "$root/root.json"
echo "Witness: record the new root.json SHA-256 and the new signing key fingerprint above."
echo "Hand out the new bundles in $root/shares/; custodians destroy their old ones."
ceremony transcript verify "$transcript"
