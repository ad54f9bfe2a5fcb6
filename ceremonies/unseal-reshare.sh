#!/usr/bin/env bash
# Give the secret of OLD_SET to the custodians of NEW_CUSTODIANS, K of N, in OUT.
# A quorum of the old custodians must be present with their keys.
#
# usage: unseal-reshare.sh OLD_DIR NEW_CUSTODIANS K OUT -i KEY [-i KEY]...
set -euo pipefail
old=${1:?old share-set directory}
new=${2:?new custodians file}
k=${3:?new threshold}
out=${4:?output directory}
shift 4

status=0
ceremony unseal reshare --shareset "$old/shareset.json" "$old"/*.share.age "$@" \
  --custodians "$new" --threshold "$k" --out "$out" || status=$?
case $status in
  0) ;;
  5) echo "Not enough old custodians present: bring more shares." >&2; exit 5 ;;
  *) exit $status ;;
esac
sha256sum "$out/shareset.json"
echo "When every new custodian has run 'ceremony unseal verify', destroy the old share files."
