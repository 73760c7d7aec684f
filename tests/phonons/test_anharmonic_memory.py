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


@pytest.mark.parametrize("results", ["an.linewidths()", "an.spectral_function([0], [1.0, 2.0])"])
def test_sums_of_constants_without_born_charges_import_neither_scipy_nor_xarray_before_their_results(results):
    """In a fresh process, the three-phonon sums of constants without Born charges (alpha-quartz's here) import none of
    scipy's special functions, FFTs, sparse matrices or linear algebra (the phonons imported them through the
    dipole-dipole Ewald sum, 20 MB, which only Born charges need), and xarray with pandas (27 MB) only once the sums are
    done: the Datasets of ``linewidths`` and ``spectral_function`` are made after them, and ``self_energy`` and
    ``static_shift`` make none (with Dask installed, xarray's first Dataset imports dask.array and through it scipy,
    another 18 MB, then too). Checked by the modules imported, deterministic."""
    import subprocess
    heavy = ("scipy.special", "scipy.fft", "scipy.sparse", "scipy.linalg", "xarray", "pandas")
    code = ("import sys; from trajmodes.forceconstants.model import ForceConstants; "
            "from trajmodes.phonons.anharmonic.anharmonic import Anharmonic; "
            f"heavy = {heavy!r}; "
            f"fc = ForceConstants.read({str(DATA / 'phono3py_quartz' / 'fc.nc')!r}); "
            "assert fc.born is None; "
            "an = Anharmonic(fc, [2, 2, 2], temperatures=300.0, smearing=0.1, allow_unstable=True); "
            "an.self_energy(0, real=True); an.static_shift(); "
            "print(sorted(m for m in heavy if m in sys.modules)); "
            "seen = []; run = an._map; "
            "an._map = lambda *a, **k: (seen.append(sorted(m for m in heavy if m in sys.modules)), run(*a, **k))[1]; "
            f"{results}; "
            "print(seen, 'xarray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.strip().splitlines()
    assert lines[-2] == "[]", out.stdout + out.stderr
    assert lines[-1] == "[[]] True", out.stdout + out.stderr


def test_tables_of_fc3_made_once_per_constants_and_again_when_fc3_changes(quartz):
    """A second calculator on the same constants takes the lattice-sum tables of fc3 the first made (12.5 MB for
    alpha-quartz on its 72-atom supercell, rebuilt per calculator before), with the same strengths; other settings
    (no r0 average) get their own; constants whose triplets are changed in place are tabulated again, and their
    strengths follow (four times for fc3 doubled), and again when they are put back."""
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic

    def calculator(**kwargs):
        return Anharmonic(fc, [3, 3, 3], temperatures=300.0, occupation="classical", smearing=0.1,
                          allow_unstable=True, **kwargs)
    an, q = quartz
    fc = an.force_constants
    tr = an.grid.triplets(q)
    S = an.interaction.strength(q, tr.q1[:3], tr.q2[:3])
    again = calculator()
    assert again.interaction._centres is an.interaction._centres
    np.testing.assert_array_equal(again.interaction.strength(q, tr.q1[:3], tr.q2[:3]), S)
    assert calculator(make_r0_average=False).interaction._centres is not an.interaction._centres
    blocks = fc.fc3_sparse.blocks
    saved = blocks.copy()
    try:
        blocks *= 2.0                                                    # in place: the same triplets, other bytes
        doubled = calculator()
        np.testing.assert_allclose(doubled.interaction.strength(q, tr.q1[:3], tr.q2[:3]), 4.0 * S, rtol=1e-12,
                                   atol=1e-30)
        blocks[...] = saved
        back = calculator()
        assert back.interaction._centres is not doubled.interaction._centres
        np.testing.assert_array_equal(back.interaction.strength(q, tr.q1[:3], tr.q2[:3]), S)
    finally:
        blocks[...] = saved


def test_tables_of_fc3_are_made_from_its_triplets_without_the_dense_array():
    """The calculator makes its tables from the triplets of the constants (``fc3_sparse``): the dense compact array
    (216 n N^2 bytes: 10.9 MB for alpha-quartz on 72 atoms, 3.5 GB per primitive atom of a 4000-atom supercell) is
    never built for the linewidths, and the strengths are those of the dense route (constants made from the dense
    array, whose triplets are the same)."""
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    fc = ForceConstants.read(DATA / "phono3py_quartz" / "fc.nc")
    sparse = ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s,
                            fc3=(fc.fc3_sparse.sites, fc.fc3_sparse.blocks))
    an = Anharmonic(sparse, [2, 2, 2], temperatures=300.0, smearing=0.1, allow_unstable=True)
    g = an.linewidths()["gamma"].values
    assert sparse._fc3_dense is None
    dense = ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s, fc3=fc.fc3)
    ref = Anharmonic(dense, [2, 2, 2], temperatures=300.0, smearing=0.1, allow_unstable=True)
    np.testing.assert_array_equal(ref.linewidths()["gamma"].values, g)


def test_unique_shortest_images_are_found_for_the_triplets_of_fc3_alone(quartz, monkeypatch):
    """The r0 average asks which triplets are each other's unique shortest images for the triplets fc3 has
    (``all_shortest(triplets=...)``: memory of their number), never for every pair of supercell atoms ((n, N, N)
    flags from (N, N, 3) arrays: 2.9 GB at 10^4 atoms, built before for a handful of nearest-neighbour triplets);
    the flags equal the full layout's at those triplets."""
    from trajmodes.phonons.anharmonic import interaction as module
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    an, _ = quartz
    inter = an.interaction
    full = inter.all_shortest()
    sites = an.force_constants.fc3_sparse.sites
    k, j, l = sites[:, 0], sites[:, 1], sites[:, 2]
    np.testing.assert_array_equal(inter.all_shortest(triplets=(k, j, l)), full[k, j, l])
    k, j, l = np.indices(full.shape).reshape(3, -1)              # and every other triplet of atoms
    flags = inter.all_shortest(triplets=(k, j, l))
    np.testing.assert_array_equal(flags, full.ravel())
    assert 0 < flags.sum() < len(flags)                           # both kinds of triplet are there
    asked = []
    real = module.Interaction.all_shortest

    def spy(self, dm=None, tol=None, triplets=None):
        asked.append(triplets is not None)
        return real(self, dm, tol, triplets)
    monkeypatch.setattr(module.Interaction, "all_shortest", spy)
    module._TABLES.clear()
    fresh = Anharmonic(an.force_constants, [2, 2, 2], temperatures=300.0, smearing=0.1, allow_unstable=True)
    fresh.interaction._prepare_lattice_sum()
    assert asked and all(asked)
