#!/usr/bin/env bash
# The figure of docs/transport.md: LJ argon at 30 K (108 atoms, 400 ps, the tests' LAMMPS input) and the
# Lennard-Jones potential's own second- and third-order constants, through `trajmodes conductivity`, in a scratch
# folder:   bash docs/figures/transport/make.sh   (from the repository root; the lammps module installed; about 40 s)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/trajmodes-transport.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$root"
python - "$work" <<'PY'
import sys
from pathlib import Path
from tests.support.lammps_heat import argon_heat_dump
from trajmodes.lattice.cubic import cubic_lattice
from trajmodes.potentials.pair import LennardJones
work = Path(sys.argv[1])
argon_heat_dump(work, True, steps=100000)
sc, prim = cubic_lattice("fcc", 5.30, 3, ["Ar"], masses=[39.948])
LennardJones(0.0104, 3.40, cutoff=8.5).force_constants3(sc, prim, layout="compact").write(work / "ar_lj3.nc")
PY
cd "$work"
trajmodes conductivity argon.lammpstrj --species Ar --force-constants ar_lj3.nc --max-time 30 -o out
cp out/routes.png "$here/argon_30K_routes.png"
echo "wrote $here/argon_30K_routes.png"
