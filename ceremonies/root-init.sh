#!/usr/bin/env bash
# Phase 0: create the root of trust, once, on the air-gapped workstation.
# usage: root-init.sh CUSTODIANS ROOTDIR
# See docs/runbooks/phase0.md. Stops at the first failure; no override flags here.
set -euo pipefail
custodians=${1:?custodians file}
root=${2:?root directory}
# Without a trailing slash: the transcript goes beside the root, never in it
# (a new version of the root replaces its directory whole).
root=${root%/}
# Every step is appended to a hash-chained transcript (docs/formats/transcript.md).
transcript="${TRANSCRIPT:-$root.transcript.jsonl}"
c() { ceremony --transcript "$transcript" "$@"; }

c preflight
c root init --custodians "$custodians" --out "$root"
c root verify "$root"
c root show "$root"
echo
echo "Witness: record the root id, the signing key fingerprint and these digests:"
sha256sum "$root/root.json" "$root"/shares/*.age
echo "Each custodian now runs: age -d -i <their key> $root/shares/<name>.age > /dev/null"
echo "Then a quorum seals the transcript:"
echo "  ceremony transcript sign $transcript --root $root $root/shares/<a>.age $root/shares/<b>.age -i … -i …"
ceremony transcript verify "$transcript"
