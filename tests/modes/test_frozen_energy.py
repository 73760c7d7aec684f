"""The frozen part of each mode set's energy fluctuation (trajmodes.modes.energies.frozen_energy_fraction), on
synthetic mode amplitudes of known statistics: exactly harmonic modes keep their energies (frozen fraction 1, also
for a degenerate pair that trades energy back and forth), modes redrawn from the canonical distribution at every frame
keep nothing (0)."""
import dask.array as da
import numpy as np
import pytest
import xarray as xr

from trajmodes.modes.energies import frozen_energy_fraction
from trajmodes.units import AMU_A2_PS2_EV, KB_EV

T = 300.0
NU = np.array([[0.0, 0.0, 0.0], [2.0, 2.0, 3.0]])          # Gamma translations; a degenerate pair and a single
QPOINTS = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0]])       # both their own -q: the amplitudes are real


def _modes(Q, Qdot, dt):
    t = np.arange(len(Q)) * dt
    return xr.Dataset({"Q": (("time", "q", "branch"), da.from_array(Q, chunks=(1000, 2, 3))),
                       "Qdot": (("time", "q", "branch"), da.from_array(Qdot, chunks=(1000, 2, 3)))},
                      coords={"time": ("time", t), "qpoint": (("q", "reduced"), QPOINTS),
                              "frequency_harmonic": (("q", "branch"), NU)})


def test_harmonic_modes_keep_their_energy_and_a_degenerate_pair_counts_as_one_set():
    dt, n = 0.005, 8000
    t = np.arange(n)[:, None] * dt
    w = 2 * np.pi * NU[1]                                                       # 1/ps
    a = np.sqrt(2 * KB_EV * T / AMU_A2_PS2_EV) / w                              # E = k_B T per mode
    slow = 2 * np.pi * 0.02 * t[:, 0]                                           # the pair trades its energy
    Q, Qd = np.zeros((n, 2, 3)), np.zeros((n, 2, 3))
    Q[:, 1] = a * np.cos(w * t) * np.stack([np.sqrt(2) * np.cos(slow), np.sqrt(2) * np.sin(slow),
                                            np.ones(n)], axis=1)
    Qd[:, 1] = np.gradient(Q[:, 1], dt, axis=0)
    res = frozen_energy_fraction(_modes(Q, Qd, dt), temperature=T)
    f = res["frozen_fraction"].values
    assert np.all(f[0] == 0.0)                                                  # the translations
    assert f[1].min() > 0.99, f
    assert np.allclose(res["set_size"].values[1], [2, 2, 1])
    alone = frozen_energy_fraction(_modes(Q, Qd, dt), temperature=T, degeneracy_tol=0.0)["frozen_fraction"].values
    assert alone[1, :2].max() < 0.7 and alone[1, 2] > 0.99                      # each of the pair alone exchanges


def test_modes_redrawn_at_every_frame_keep_nothing():
    rng = np.random.default_rng(3)
    n = 40000
    w = 2 * np.pi * NU[1]
    s = np.sqrt(KB_EV * T / AMU_A2_PS2_EV)                                      # <Qdot^2> = k_B T (amu A^2/ps^2)
    Q, Qd = np.zeros((n, 2, 3)), np.zeros((n, 2, 3))
    Q[:, 1] = rng.normal(size=(n, 3)) * s / w
    Qd[:, 1] = rng.normal(size=(n, 3)) * s
    Qd[:, 0] = rng.normal(size=(n, 3)) * s
    res = frozen_energy_fraction(_modes(Q, Qd, 0.01))
    assert res.attrs["temperature"] == pytest.approx(T, rel=0.02)
    assert res["frozen_fraction"].values.max() < 0.05
    assert np.allclose(res["energy"].values[1], KB_EV * T, rtol=0.03)
    assert np.allclose(res["set_variance"].values[1], res["set_size"].values[1] * (KB_EV * T) ** 2, rtol=0.1)
