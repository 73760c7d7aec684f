"""The three-phonon lineshapes at Gamma that ``trajmodes compare`` draws, checked against phono3py's self-energies of the
same constants (tests/data/phono3py_quartz: effective fc2 and fc3 of alpha-quartz, Tersoff potential of Munetoh,
Motooka, Moriguchi and Shintani, Comput. Mater. Sci. 39, 334 (2007), fitted to a 300 K LAMMPS run of 3 x 3 x 2
hexagonal cells that left the alpha-quartz sites; phono3py 4.10.0, ``make_reference.py`` there).

These constants put some lines of theory several THz from their modes: the static bubble Delta(0) of the 26 THz mode
is -7.8 THz (phono3py's number as well as trajmodes'), so the line of Delta(nu) - Delta(0) (effective constants)
peaks about 7 THz above it. That is what the constants imply, not an error of the lineshape: Gamma(W) and Delta(W)
agree with phono3py's to 1e-5 THz at every W, and the lines built from either are one line.
"""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.paths import DATA

REF = DATA / "phono3py_quartz"


@pytest.fixture(scope="module")
def quartz():
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    ref = dict(np.load(REF / "reference.npz"))
    fc = ForceConstants.read(REF / "fc.nc")
    an = Anharmonic(fc, [int(m) for m in ref["mesh"]], temperatures=float(ref["temperature"]),
                    occupation="quantum", smearing=float(ref["sigma"]), allow_unstable=True)
    sf = an.spectral_function([0], ref["frequency_points"], epsilon=float(ref["epsilon"]))
    return ref, an, sf["gamma"].values[0, 0], sf["frequency_shift"].values[0, 0]


def test_gamma_self_energy_of_quartz_is_phono3pys(quartz):
    """Gamma(W) and Delta(W) of every branch at Gamma on phono3py's frequency points (W from 1e-4 THz: Delta(0) as its
    limit) match phono3py's run_imag_self_energy and run_real_self_energy (the same Gaussian smearing and
    principal-value broadening) to 1e-4 THz, where they reach 34 and 12 THz."""
    ref, an, gamma, delta = quartz
    np.testing.assert_allclose(an.frequencies[0], ref["frequencies"], atol=1e-6)
    assert np.abs(ref["gamma"]).max() > 10 and np.abs(ref["delta"]).max() > 5
    np.testing.assert_allclose(gamma, ref["gamma"], atol=1e-4)
    np.testing.assert_allclose(delta, ref["delta"], atol=1e-4)


def test_far_line_of_quartz_is_what_its_constants_imply(quartz):
    """The kinetic-energy line nu A(nu) of Delta(nu) - Delta(0) (``compare``'s effective constants) of the 26.2 THz
    mode: its maximum lies more than 6 THz above the mode, the same within one step of the axis whether Gamma and Delta
    are trajmodes' or phono3py's."""
    from trajmodes.modes.comparison_levels import kinetic_lineshape, line_positions
    from trajmodes.phonons.anharmonic.spectral import spectral_functions
    ref, an, gamma, delta = quartz
    w, f0 = ref["frequency_points"].copy(), ref["frequencies"]
    w[0] = 0.0
    s = int(np.argmin(np.abs(f0 - 26.23)))
    peaks = []
    for g, d in ((gamma, delta), (ref["gamma"], ref["delta"])):
        line = kinetic_lineshape(w, spectral_functions(w, g[s], d[s] - d[s, :1], f0[s]))
        peaks.append(float(line_positions(w, line[None, None], measure=np.ones((1, 1), bool))[0][0, 0]))
    assert abs(ref["delta"][s, 0] + 7.8) < 0.1
    assert peaks[0] - f0[s] > 6.0
    assert abs(peaks[0] - peaks[1]) < w[1] - w[0]


def test_lineshape_memory_is_bounded_by_the_block_not_the_triplets(monkeypatch):
    """The self-energy of a 27-branch cell on 201 frequencies holds (triplets, 201, 27, 27) delta functions per block:
    blocks of 512 triplets held gigabytes for quartz's lineshapes (``trajmodes compare``, 3.3 GB). Blocks are cut to
    BLOCK_BYTES per array: with 2 MB, one triplet per block, the 10 triplets of a q of the 3 x 3 x 3 mesh peak at a
    tenth of the memory of one block of all ten (about 6 against 72 MB, traced), and give the same numbers."""
    import tracemalloc
    import trajmodes.phonons.anharmonic.interaction as interaction
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    fc = ForceConstants.read(REF / "fc.nc")
    an = Anharmonic(fc, [3, 3, 3], temperatures=300.0, occupation="classical", smearing=0.1, allow_unstable=True)
    ir = an.grid.irreducible
    q = int(ir[int(np.argmax([len(an.grid.triplets(int(g))) for g in ir]))])
    assert len(an.grid.triplets(q)) == 10
    w = np.linspace(0.0, 50.0, 201)
    out = {}
    for budget in (2e6, 1e30):
        monkeypatch.setattr(interaction, "BLOCK_BYTES", budget)
        tracemalloc.start()
        r = an.self_energy(q, w, real=True)
        out[budget] = (tracemalloc.get_traced_memory()[1], r)
        tracemalloc.stop()
    (small, a), (whole, b) = out[2e6], out[1e30]
    assert small < 20e6 and whole > 50e6
    np.testing.assert_allclose(a.gamma, b.gamma, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.delta, b.delta, rtol=1e-10, atol=1e-12)
