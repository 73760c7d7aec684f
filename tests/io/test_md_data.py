"""The real LAMMPS MD runs for force-constant fitting (examples/md/, made by examples/make_md.py):
they load with trajmodes.read against their reference data files and carry the physics they should."""
import json
import shutil

import numpy as np
import pytest

from tests.support.paths import EXAMPLES
import trajmodes

MD = EXAMPLES / "md"
RUNS = {  # name: (atoms, T target K, element, conventional cells per edge)
    "cu_300K": (256, 300.0, "Cu", 4), "cu_900K": (256, 900.0, "Cu", 4),
    "si_300K": (216, 300.0, "Si", 3), "si_1000K": (216, 1000.0, "Si", 3),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Per run: (trajectory, displacements, forces, temperatures); read from private copies."""
    d = tmp_path_factory.mktemp("md")
    meta = json.loads((MD / "runs.json").read_text())
    out = {}
    for name in RUNS:
        for suffix in (".lammpstrj.gz", ".data"):
            shutil.copy2(MD / (name + suffix), d / (name + suffix))
        tr = trajmodes.read(d / f"{name}.lammpstrj.gz", reference=d / f"{name}.data")
        out[name] = (tr, tr.displacements().compute(), tr.forces.compute(), tr.temperature().compute(),
                     meta[name])
    return out


@pytest.mark.parametrize("name", list(RUNS))
def test_loads_against_reference(runs, name):
    tr, u, f, T, meta = runs[name]
    n, _, element, ncell = RUNS[name]
    assert tr.n_frames == 300 and tr.n_atoms == n
    assert set(tr.reference.species) == {element}
    # the reference is the ideal lattice at the lattice parameter the run used
    assert np.allclose(np.diag(tr.reference.cell), ncell * meta["a"], atol=1e-9)
    assert np.allclose(tr.times[1] - tr.times[0], 0.04)
    assert np.abs(u).max() < 1.0                                    # no atom hopped a site
    assert np.abs(u.mean(axis=1)).max() < 1e-6                       # centre of mass fixed
    assert (MD / f"{name}.lammpstrj.gz").stat().st_size < 5.5e6


@pytest.mark.parametrize("name", list(RUNS))
def test_temperature_and_forces(runs, name):
    tr, u, f, T, meta = runs[name]
    target = RUNS[name][1]
    assert abs(T.mean() / target - 1) < 0.1
    assert np.abs(f.sum(axis=1)).max() < 1e-6                       # Newton's third law, per frame
    assert np.sqrt((f ** 2).mean()) > 0.1                            # real forces, not zeros


@pytest.mark.parametrize("lo,hi", [("cu_300K", "cu_900K"), ("si_300K", "si_1000K")])
def test_displacements_grow_with_temperature(runs, lo, hi):
    rms = {k: np.sqrt((runs[k][1] ** 2).sum(-1).mean()) for k in (lo, hi)}
    ratio = rms[hi] / rms[lo]
    harmonic = np.sqrt(RUNS[hi][1] / RUNS[lo][1])                   # <u^2> ~ T for a harmonic crystal
    # anharmonic softening (and the larger lattice parameter) make it grow somewhat faster
    assert harmonic * 0.95 < ratio < harmonic * 1.3
    # thermal expansion: the NPT lattice parameter grows with T
    assert runs[hi][4]["a"] > runs[lo][4]["a"]
