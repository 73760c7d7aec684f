#!/usr/bin/env bash
# The figures of docs/getting_started.md and the front page, made by the commands that page shows (the README's main
# job), run in a scratch copy of examples/ so that nothing lands in the repository:
#   bash docs/figures/getting_started/make.sh          (from the repository root, trajmodes installed; about 10 s)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/trajmodes-gs.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "$root/examples" "$work/examples"
cd "$work"
trajmodes info examples/cu_fcc_300K.lammpstrj.gz --species Cu --reference examples/cu_fcc_4x4x4.data
trajmodes run examples/cu_fcc_300K.lammpstrj.gz --reference examples/cu_fcc_4x4x4.data --compare examples/fc/cu_eam -o trajmodes-out
cp trajmodes-out/fc.png "$here/cu_300K_dispersion.png"
cp trajmodes-out/summary.png "$here/cu_300K_summary.png"
echo "wrote $here/cu_300K_dispersion.png and $here/cu_300K_summary.png"
