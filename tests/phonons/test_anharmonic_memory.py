"""The memory and the Python work of one block of three-phonon triplets on a 27-branch cell (alpha-quartz, 9 atoms;
tests/data/phono3py_quartz): the strengths' three products written into two arrays of the block's size, the delta
functions one at a time into their place, and the lattice sum of fc3 in a few batched products per centre atom over
every pair of primitive atoms at once, so that blocks of a few triplets (the 4 MB of
:data:`trajmodes.phonons.anharmonic.interaction.BLOCK_BYTES`) cost no more time per triplet than large ones."""
from __future__ import annotations

import sys
import tracemalloc

import numpy as np
import pytest

from tests.support.paths import DATA


@pytest.fixture(scope="module")
def quartz():
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    fc = ForceConstants.read(DATA / "phono3py_quartz" / "fc.nc")
    an = Anharmonic(fc, [3, 3, 3], temperatures=300.0, occupation="classical", smearing=0.1, allow_unstable=True)
    ir = an.grid.irreducible
    q = int(ir[int(np.argmax([len(an.grid.triplets(int(g))) for g in ir]))])
    assert len(an.grid.triplets(q)) == 10
    return an, q


def test_block_peaks_at_about_twice_its_delta_functions(quartz, monkeypatch):
    """All 10 triplets of a q in one block (own frequencies, width and shift): the traced peak is under 2.5 times the
    block's delta functions (3 x 10 x 27^3 doubles, 4.7 MB; 2.0 times here, 3.4 with a weighted copy of the strengths,
    the products side by side and the three Gaussians stacked), and blocks of one triplet give the same numbers."""
    import trajmodes.phonons.anharmonic.interaction as interaction
    an, q = quartz
    monkeypatch.setattr(interaction, "BLOCK_BYTES", 1e30)
    an.self_energy(q, real=True)                                     # (first calls' caches out of the count)
    tracemalloc.start()
    whole = an.self_energy(q, real=True)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    deltas = 3 * 10 * 27 ** 3 * 8.0
    assert peak < 2.5 * deltas, peak / deltas
    monkeypatch.setattr(interaction, "BLOCK_BYTES", 1.0)            # one triplet per block
    one = an.self_energy(q, real=True)
    np.testing.assert_allclose(one.gamma, whole.gamma, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(one.delta, whole.delta, rtol=1e-12, atol=1e-14)


def test_lattice_sum_makes_a_few_calls_per_centre_atom_not_per_pair_of_atoms(quartz):
    """The transform of fc3 for a block of triplets calls numpy fewer than 40 times per centre atom (22 here), whatever
    the pairs of primitive atoms its constants join (a loop over them made 95 calls per centre here, and blocks of a
    few triplets 3 to 5 times slower per triplet than blocks of 67). These constants lie within half the supercell, so
    the r0 average has one leg. Counted with a profile hook: deterministic."""
    an, q = quartz
    it = an.interaction
    tr = an.grid.triplets(q)
    qp = an.grid.qpoints
    assert it.make_r0_average                                        # the three legs of the r0 average
    calls = []

    def hook(frame, event, arg):
        if event == "c_call":
            calls.append(arg)
    sys.setprofile(hook)
    try:
        F = it.reciprocal_fc3(qp[q], qp[tr.q1[:2]], qp[tr.q2[:2]])
    finally:
        sys.setprofile(None)
    n = it.force_constants.n_prim
    assert F.shape == (2, 3 * n, 3 * n, 3 * n)
    assert len(calls) < 40 * n, len(calls)


def test_three_phonon_sums_on_threads_import_neither_distributed_nor_scipy_optimize():
    """A process that runs the linewidths and the conductivity on Dask's threads (no client) does not import
    ``distributed`` (17 MB: Dask asked it for a client that cannot exist before it is imported) nor ``scipy.optimize``
    (23 MB: the Ewald parameter's root finder, imported with the phonons): together 30 MB of the 131 MB by which the
    RTA of alpha-quartz on 4x4x3 rose over its constants in a fresh process. Checked in a fresh process, by the modules
    imported (deterministic)."""
    import subprocess
    code = ("import sys; from trajmodes.forceconstants.model import ForceConstants; "
            "from trajmodes.phonons.anharmonic.anharmonic import Anharmonic; "
            f"fc = ForceConstants.read({str(DATA / 'phono3py_quartz' / 'fc.nc')!r}); "
            "an = Anharmonic(fc, [2, 2, 2], temperatures=300.0, smearing=0.1, allow_unstable=True); "
            "an.thermal_conductivity(linewidths=an.linewidths()); "
            "print(sorted(m for m in ('distributed', 'scipy.optimize') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr
