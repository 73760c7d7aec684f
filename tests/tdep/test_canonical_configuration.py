"""TDEP's ``canonical_configuration --modes`` test (tests/data/tdep_canonical_configuration/README.md): its polar MgO
``infile.forceconstant`` on the 2-atom unit cell as supercell, 300 K (its default), classical amplitudes; two
configurations (+ and -) per supercell mode, the three translations first with zero amplitude. TDEP prints per
configuration the kinetic and potential energy per atom (in K, E / 1.5 k_B), the running ratio of their sums, the
temperature (E_k + E_p) / 3 k_B, its running mean and the running mean of sum_i |u_i| / N (A), and its test compares
the numbers of that table with numpy's assert_allclose (rtol 1e-7) after NaN -> 0."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trajmodes import ForceConstants
from trajmodes.phonons.thermodynamics.sampling import canonical_configurations, mode_configurations, supercell_modes
from trajmodes.units import AMU_A2_PS2_EV, KB_EV

DATA = Path(__file__).parent.parent / "data" / "tdep_canonical_configuration"
#: TDEP's masses (its own table; they set the amplitudes, so the mean |u|)
TDEP_MASS = {"O": 15.99940492713, "Mg": 24.305051612313}
#: TDEP's canonical_configuration: the default temperature, and the LO direction it adds the non-analytic term along
TEMPERATURE, LO_DIRECTION = 300.0, (1.0, 0.0, 0.0)
#: TDEP's Boltzmann constant (CODATA 2014, eV/K): 3.4e-7 below trajmodes' (CODATA 2018). The amplitudes go as
#: sqrt(k_B T), so TDEP's are those of trajmodes at T * TDEP_KB / KB_EV; its table divides energies by its own k_B.
TDEP_KB = 8.6173303e-5


def tdep_numbers(path) -> np.ndarray:
    """TDEP's test's reading of the table: every token that parses as a number, NaN -> 0."""
    rows = []
    for line in Path(path).read_text().splitlines():
        row = []
        for tok in line.split():
            try:
                row.append(float(tok))
            except ValueError:
                pass
        rows.append(row)
    return np.nan_to_num(np.array(rows, dtype=float))


@pytest.fixture(scope="module")
def mgo():
    fc = ForceConstants.read(DATA, "tdep")
    masses = np.array([TDEP_MASS[s] for s in fc.supercell.species])
    return fc, masses


def energies(fc, masses, u, v):
    """Kinetic and potential energy per atom (eV) and sum |u| / N (A) of configurations (..., N, 3): the
    potential energy with the full constants (short-range + dipole-dipole), without the non-analytic term."""
    n = fc.n_atoms
    phi = fc.with_convention("full").full().transpose(0, 2, 1, 3).reshape(3 * n, 3 * n)
    uf = u.reshape(*u.shape[:-2], 3 * n)
    ek = 0.5 * np.einsum("n,...nc->...", masses, v ** 2) * AMU_A2_PS2_EV / n
    ep = 0.5 * np.einsum("...i,ij,...j->...", uf, phi, uf) / n
    return ek, ep, np.linalg.norm(u, axis=-1).sum(axis=-1) / n


def tdep_table(fc, masses, kb: float = TDEP_KB) -> tuple[list[str], np.ndarray]:
    """Our configurations in TDEP's table (its k_B: ``kb``): the lines as TDEP formats them, and the unrounded
    numbers."""
    ds = mode_configurations(fc, TEMPERATURE * kb / KB_EV, "classical", masses=masses, q_direction=LO_DIRECTION)
    ek, ep, msd = energies(fc, masses, ds.displacements.values, ds.velocities.values)     # (mode, sign)
    z = np.zeros((3, 2))                                                                 # the translations
    ek, ep, msd = (np.concatenate([z, a]).reshape(-1) for a in (ek, ep, msd))
    lines, raw = [], []
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.cumsum(ek) / np.cumsum(ep)
    temp = (ek + ep) / (3 * kb)
    count = np.arange(1, len(ek) + 1)
    for i in range(len(ek)):
        row = [ek[i] / kb / 1.5, ep[i] / kb / 1.5, ratio[i], temp[i], np.cumsum(temp)[i] / count[i],
               np.cumsum(msd)[i] / count[i]]
        raw.append([i + 1] + row)
        lines.append(f" {i + 1:4d}     {'+-'[i % 2]}" + "".join(f"  {x:13.5f}" for x in row[:5]) + f"  {row[5]:15.8f}")
    return lines, np.nan_to_num(np.array(raw))


def test_canonical_configuration_modes_reproduced(mgo, tmp_path):
    fc, masses = mgo
    lines, raw = tdep_table(fc, masses)
    out = tmp_path / "canonical_configuration.dat"
    out.write_text("\n".join(lines) + "\n")
    ref = tdep_numbers(DATA / "canonical_configuration.dat")
    np.testing.assert_allclose(ref, tdep_numbers(out))                                   # TDEP's own test: equal
    # unrounded: within half the last printed digit (measured 4.5e-6 K and 4.4e-9 A at most)
    assert np.abs(raw[:, 1:6] - ref[:, 1:6]).max() < 5e-6
    assert np.abs(raw[:, 6] - ref[:, 6]).max() < 5e-9


def test_with_our_boltzmann_constant(mgo, tmp_path):
    """With trajmodes' own k_B (CODATA 2018) the mean |u| grows by 1.7e-7 (relative), and the last line prints
    0.01227472 where TDEP's prints 0.01227471: one unit of the last digit, 8e-7 of the value, outside TDEP's
    rtol 1e-7 on printed numbers. Every other number prints the same."""
    fc, masses = mgo
    lines, raw = tdep_table(fc, masses, kb=KB_EV)
    out = tmp_path / "ours.dat"
    out.write_text("\n".join(lines) + "\n")
    ours, ref = tdep_numbers(out), tdep_numbers(DATA / "canonical_configuration.dat")
    off = ~np.isclose(ours, ref, rtol=1e-7, atol=0)
    assert off.sum() == 1 and off[11, 6] and ours[11, 6] - ref[11, 6] == pytest.approx(1e-8, abs=1e-12)
    assert np.abs(raw[:, 6] - ref[:, 6]).max() < 7e-9


def test_lo_mode_energy(mgo):
    """The LO mode's potential energy (without the non-analytic term) is (omega_TO / omega_LO)^2 of its kinetic
    energy: the 20.79236 K of TDEP's table is 50 K times that ratio."""
    fc, masses = mgo
    nu = supercell_modes(fc, masses, q_direction=LO_DIRECTION).frequencies[3:]
    assert nu[0] == pytest.approx(nu[1], rel=1e-12) and nu[2] > nu[0]
    assert 50 * (nu[0] / nu[2]) ** 2 == pytest.approx(20.79236, abs=5e-6)
    # without the term the optical modes are triply degenerate (a periodic supercell makes no macroscopic field)
    nu0 = supercell_modes(fc, masses).frequencies[3:]
    np.testing.assert_allclose(nu0, nu[0], rtol=1e-12)


def test_random_draws_have_tdeps_expectation_values(mgo):
    """canonical_configurations on the same modes: the means over random draws of TDEP's statistics approach their
    expectations, E_k = (3N - 3) k_B T / 2N and E_p = sum over modes of k_B T / 2 (e.Phi.e) / (e.(Phi + NAC).e) / N,
    within 4 standard errors."""
    fc, masses = mgo
    ds = canonical_configurations(fc, TEMPERATURE, 20000, seed=7, masses=masses, q_direction=LO_DIRECTION)
    ek, ep, _ = energies(fc, masses, ds.displacements.values, ds.velocities.values)
    n = fc.n_atoms
    ek_exp = (3 * n - 3) * KB_EV * TEMPERATURE / (2 * n)
    ep_exp = KB_EV * TEMPERATURE / 2 * (2 + 20.79236441762 / 50) / n
    for x, mean in ((ek, ek_exp), (ep, ep_exp)):
        assert abs(x.mean() - mean) < 4 * x.std() / np.sqrt(len(x))


def test_mode_configurations_quantum(mgo):
    """Quantum amplitudes: each configuration holds hbar omega (n + 1/2) / 2 of kinetic energy."""
    from trajmodes.units import THZ_EV
    fc, masses = mgo
    ds = mode_configurations(fc, 100.0, "quantum", masses=masses)
    ek, ep, _ = energies(fc, masses, ds.displacements.values, ds.velocities.values)
    e = ds.frequency.values * THZ_EV
    expect = 0.5 * e / np.tanh(e / (2 * KB_EV * 100.0)) / 2 / fc.n_atoms
    np.testing.assert_allclose(ek, np.repeat(expect[:, None], 2, axis=1), rtol=1e-12)
    np.testing.assert_allclose(ep, ek, rtol=1e-10)                    # no q_direction: the modes of Phi itself
