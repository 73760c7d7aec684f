"""The amorphous Si of tests/support/amorphous.py (a Stillinger-Weber melt-quench in LAMMPS) is a glass: no Bragg
peak, about four neighbours per atom, no imaginary mode."""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.amorphous import bragg_ratio, coordination, melt_quench
from tests.support.lammps_md import find_potential
from trajmodes.lattice.crystal import Crystal

needs_lammps = pytest.mark.skipif(find_potential("Si.sw") is None, reason="LAMMPS or its Si.sw not installed")


def _diamond(cells=2, a=5.431):
    base = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]])
    base = np.vstack([base, base + 0.25])
    g = np.array([(i, j, k) for i in range(cells) for j in range(cells) for k in range(cells)])
    return np.eye(3) * a * cells, ((g[:, None, :] + base[None]).reshape(-1, 3) * a)


def test_checks_tell_a_crystal_from_a_glass(asi64):
    cell, x = _diamond()
    assert bragg_ratio(cell, x) == pytest.approx(1.0)
    assert np.all(coordination(cell, x) == 4)
    assert bragg_ratio(asi64.cell, asi64.positions) < 0.15


@needs_lammps
def test_short_melt_quench_is_amorphous(sw):
    r = melt_quench(cells=2, melt_ps=1.0, quench_ps=2.0, hold_ps=0.2, seed=5)
    assert r["positions"].shape == (64, 3)
    z = coordination(r["cell"], r["positions"])
    assert 3.8 < z.mean() < 4.9                                           # SW quenched fast: 4.4-4.6
    assert bragg_ratio(r["cell"], r["positions"]) < 0.2                   # a crystal: 1
    glass = Crystal(r["cell"], r["positions"], list(r["species"]))
    assert np.abs(sw.energy_forces(glass).forces).max() < 1e-6            # relaxed
    from trajmodes.disorder import GlassHarmonic, gamma_modes
    assert gamma_modes(GlassHarmonic.from_potential(sw, glass)).frequencies[3] > 0
