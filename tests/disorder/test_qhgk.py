"""The quasi-harmonic Green-Kubo conductivity (trajmodes.disorder.qhgk): Allen-Feldman's with equal classical widths,
kALDo's on the same constants and widths, the two-mode heat capacity, blocks and bad input."""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.kaldo_qhgk import QHGK_REFERENCE
from tests.support.kaldo_reference import REFERENCE
from trajmodes.disorder import GlassHarmonic, allen_feldman, allen_feldman_conductivity, gamma_modes
from trajmodes.disorder.qhgk import pair_heat_capacity, qhgk_conductivity
from trajmodes.phonons.harmonic.statistics import heat_capacity_matrix, mode_heat_capacity
from trajmodes.units import KB_EV


@pytest.fixture(scope="module")
def glass64(sw, asi64):
    model = GlassHarmonic.from_potential(sw, asi64)
    return model, gamma_modes(model)


@pytest.fixture(scope="module")
def glass216(asi216):
    crystal, phi = asi216
    model = GlassHarmonic.from_force_constants(phi, crystal)
    return model, gamma_modes(model)


def test_equal_classical_widths_are_allen_feldman(glass216):
    """Every FWHM w: the pair Lorentzian has half width w, the heat capacities are k_B: Allen-Feldman exactly."""
    model, modes = glass216
    w = 0.3
    q = qhgk_conductivity(model, modes, w, [300.0], "classical")
    af = allen_feldman(model, modes, w, "lorentzian")
    k = allen_feldman_conductivity(af, [300.0], "classical")
    assert q.conductivity.values[0] == pytest.approx(k.conductivity.values[0], rel=1e-12)
    np.testing.assert_allclose(np.diagonal(q.conductivity_tensor.values[0]), k.conductivity_components.values[0],
                               rtol=1e-12)
    np.testing.assert_allclose(q.diffusivity.values, af.diffusivity.values, rtol=1e-12)
    assert q.mode_conductivity.values.sum() == pytest.approx(q.conductivity.values[0], rel=1e-12)
    # quantum: the two-mode heat capacity is not C_i, but close to it where the widths are small against k_B T / h
    qq = qhgk_conductivity(model, modes, w, [300.0])
    kq = allen_feldman_conductivity(af, [300.0])
    assert qq.conductivity.values[0] != pytest.approx(kq.conductivity.values[0], rel=1e-6)
    assert qq.conductivity.values[0] == pytest.approx(kq.conductivity.values[0], rel=1e-2)


def test_constant_width_equals_kaldo(glass216):
    """kALDo's qhgk with diffusivity_bandwidth b = 0.5 rad/ps: every mode's FWHM 2 b rad/ps = 1 / (2 pi) THz."""
    model, modes = glass216
    ref = np.load(REFERENCE)
    q = qhgk_conductivity(model, modes, 1.0 / (2.0 * np.pi), [300.0])
    want = ref["conductivity_lorentz"]
    # kALDo keeps its per-mode conductivity in float32 and converts with CODATA 2014: 5e-7 measured
    np.testing.assert_allclose(q.conductivity_tensor.values[0], want, rtol=0, atol=2e-6 * np.trace(want) / 3)


@pytest.mark.parametrize("name, temperature, occupation",
                         [("quantum_50", 50.0, "quantum"), ("quantum_300", 300.0, "quantum"),
                          ("classical_300", 300.0, "classical")])
def test_mode_widths_equal_kaldo(glass216, name, temperature, occupation):
    """A width of its own for every mode (tests/support/kaldo_qhgk.py): the pair Lorentzian's half width is the mean
    of the two FWHM, and the two-mode heat capacities are kALDo's."""
    model, modes = glass216
    ref = np.load(QHGK_REFERENCE)
    ok = ref["physical"].astype(bool)
    q = qhgk_conductivity(model, modes, ref["linewidth"], [temperature], occupation)
    assert np.array_equal(q.physical.values, ok)
    want = ref[f"conductivity_{name}"]
    # 1.2e-6 at 50 K: the package's THz (phonopy's) is 1.3e-7 below kALDo's, times x = h nu / k_B T up to 10
    np.testing.assert_allclose(q.conductivity_tensor.values[0], want, rtol=0, atol=3e-6 * np.trace(want) / 3)
    np.testing.assert_allclose(q.diffusivity.values[ok], ref[f"diffusivity_{name}"][ok], rtol=1e-6)
    # and not the constant-width result: the widths matter
    same = qhgk_conductivity(model, modes, float(np.median(ref["linewidth"][ok])), [temperature], occupation)
    assert abs(same.conductivity.values[0] / q.conductivity.values[0] - 1) > 1e-2


def test_pair_heat_capacity_is_the_ibdb19_matrix():
    rng = np.random.default_rng(3)
    nu = np.sort(rng.uniform(0.05, 20.0, 40))
    nu[7] = nu[6]                                                      # a degenerate pair: the mode's own C
    for T in (3.0, 50.0, 300.0, 3000.0):
        want = heat_capacity_matrix(nu, T, kind="ibdb19")[0]
        np.testing.assert_allclose(pair_heat_capacity(nu, nu, T), want, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(np.diagonal(pair_heat_capacity(nu, nu, T)), mode_heat_capacity(nu, T)[0],
                                   rtol=1e-12)
    # a block, far from overflow trouble at 0.1 K (x up to 10^4) and the classical k_B
    c = pair_heat_capacity(nu, nu[:5], 0.1)
    assert c.shape == (40, 5) and np.all(np.isfinite(c)) and np.all(c >= 0)
    np.testing.assert_allclose(pair_heat_capacity(nu, nu[:5], 300.0, "classical"), KB_EV)
    assert np.all(pair_heat_capacity(np.array([0.0, -1.0]), nu, 300.0) == 0.0)


def test_blocks_and_temperatures(glass64):
    model, modes = glass64
    rng = np.random.default_rng(1)
    g = rng.uniform(0.05, 0.5, len(modes.frequencies))
    a = qhgk_conductivity(model, modes, g, [100.0, 300.0])
    b = qhgk_conductivity(model, modes, g, [300.0], block=7)
    assert a.conductivity.values[0] < a.conductivity.values[1]
    np.testing.assert_allclose(b.conductivity_tensor.values[0], a.conductivity_tensor.values[1], rtol=1e-12)
    np.testing.assert_allclose(b.diffusivity.values, a.diffusivity.values, rtol=1e-12)
    assert np.isnan(a.diffusivity.values[:3]).all() and a.conductivity.attrs["units"] == "W/(m K)"


def test_bad_input(glass64):
    model, modes = glass64
    g = np.full(len(modes.frequencies), 0.1)
    g[10] = np.nan
    with pytest.raises(ValueError, match="1 of the 189 modes that carry heat have no positive finite linewidth"):
        qhgk_conductivity(model, modes, g, 300.0)
    g[:3] = np.nan                                                     # the translations need none
    g[10] = 0.1
    assert np.isfinite(qhgk_conductivity(model, modes, g, 300.0).conductivity.values).all()
    with pytest.raises(ValueError, match="one FWHM"):
        qhgk_conductivity(model, modes, g[:5], 300.0)
    with pytest.raises(ValueError, match="positive numbers of kelvin"):
        qhgk_conductivity(model, modes, 0.1, 0.0)
    with pytest.raises(ValueError, match="needs the eigenvectors"):
        qhgk_conductivity(model, gamma_modes(model, eigenvectors=False), 0.1, 300.0)


def test_perturbative_widths_refuse_another_cell_or_mesh(glass64):
    from types import SimpleNamespace
    from trajmodes.disorder import perturbative_linewidths
    model, modes = glass64
    with pytest.raises(ValueError, match="30 frequencies at Gamma are not those of the 192 modes"):
        perturbative_linewidths(SimpleNamespace(frequencies=np.ones((1, 30))), modes)
    with pytest.raises(ValueError, match="holds 8 q-points"):
        perturbative_linewidths(SimpleNamespace(frequencies=np.ones((8, 192))), modes)


def test_glass_phonons_project_a_run_onto_the_modes(glass64, asi64, tmp_path):
    """Frames displaced along two modes (amplitudes A_t, B_t) and moving along a third: project gives back exactly
    those amplitudes and velocities, nothing on the other modes."""
    from types import SimpleNamespace
    import trajmodes
    from tests.support.dumps import write_frames
    from trajmodes.disorder import GlassPhonons
    model, modes = glass64
    assert np.allclose(asi64.cell, np.diag(np.diag(asi64.cell)))           # write_frames writes orthogonal boxes
    E, m = modes.eigenvectors, np.repeat(asi64.masses, 3)
    t = np.arange(6)
    A, B, V = 0.05 * np.cos(t), 0.03 * np.sin(2 * t), 0.2 * (t - 2.5)
    u = (A[:, None] * E[:, 10] + B[:, None] * E[:, 100]) / np.sqrt(m)        # (frames, 3N)
    v = V[:, None] * E[:, 150] / np.sqrt(m)
    frames = SimpleNamespace(cells=np.repeat(asi64.cell[None], len(t), 0), origins=np.zeros((len(t), 3)))
    path = write_frames(tmp_path / "glass.lammpstrj", frames, asi64.positions[None] + u.reshape(len(t), -1, 3),
                        velocities=v.reshape(len(t), -1, 3))
    traj = trajmodes.read(str(path), species={1: "Si"}, reference=asi64.positions, frame_interval=0.01)
    P = trajmodes.project(traj, GlassPhonons(modes, asi64))
    Q, Qdot = P.Q.values[:, 0, :], P.Qdot.values[:, 0, :]
    want = np.zeros_like(Q.real)
    want[:, 10], want[:, 100] = A, B
    np.testing.assert_allclose(Q, want, atol=1e-7)                        # the dump's 10 digits
    want = np.zeros_like(Q.real)
    want[:, 150] = V
    np.testing.assert_allclose(Qdot, want, atol=1e-7)
    np.testing.assert_allclose(P.frequency_harmonic.values[0], modes.frequencies)
    ph = GlassPhonons(modes, asi64)
    with pytest.raises(ValueError, match="Gamma"):
        ph.frequencies_and_eigenvectors([[0.5, 0, 0]])
    with pytest.raises(ValueError, match="needs their eigenvectors"):
        GlassPhonons(gamma_modes(model, eigenvectors=False), asi64)
