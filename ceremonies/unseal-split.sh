#!/usr/bin/env bash
# Split a fresh 32-byte unseal key among the custodians of CUSTODIANS, K of N,
# into OUT, then have each custodian prove their share opens.
#
# usage: unseal-split.sh CUSTODIANS K OUT
# Each custodian then runs, on this machine and in front of the witnesses:
#   ceremony unseal verify --shareset OUT/shareset.json OUT/<name>.share.age -i <their key>
set -euo pipefail
custodians=${1:?custodians file}
k=${2:?threshold}
out=${3:?output directory}

echo "Witnesses: confirm this machine is offline before continuing."
ceremony unseal share --custodians "$custodians" --threshold "$k" --out "$out"

echo
echo "Public manifest (record its SHA-256 in the ceremony log):"
sha256sum "$out/shareset.json"
echo
echo "Next: each custodian verifies their own share:"
for share in "$out"/*.share.age; do
  echo "  ceremony unseal verify --shareset $out/shareset.json $share -i <key of $(basename "$share" .share.age)>"
done
