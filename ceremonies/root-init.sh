#!/usr/bin/env bash
# Phase 0: create the root of trust, once, on the air-gapped workstation.
# usage: root-init.sh CUSTODIANS ROOTDIR
# See docs/runbooks/phase0.md. Stops at the first failure; no override flags here.
set -euo pipefail
custodians=${1:?custodians file}
root=${2:?root directory}

ceremony preflight
ceremony root init --custodians "$custodians" --out "$root"
ceremony root verify "$root"
ceremony root show "$root"
echo
echo "Witness: record the root id, the signing key fingerprint and these digests:"
sha256sum "$root/root.json" "$root"/shares/*.age
echo "Each custodian now runs: age -d -i <their key> $root/shares/<name>.age > /dev/null"
