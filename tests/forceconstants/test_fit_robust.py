"""The fit on natural input: no reference given, a reference too noisy for the symmetry search, a fit that would
not fit in memory, and settings that cannot make a fit, each ending in a result or a clear, early error."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.support.paths import EXAMPLES
import trajmodes
from trajmodes import EffectiveForceConstants
from trajmodes.cli import main

EX = EXAMPLES


def test_run_without_reference_uses_the_average(tmp_path, capsys):
    """The first frame of a 300 K run hides the lattice from spglib; the run's average does not."""
    import resource
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = tmp_path / "out"
    assert main(["run", str(EX / "cu_fcc_300K.lammpstrj.gz"), "--species", "Cu", "-o", str(out)]) == 0
    assert "from the reference (the time average of the run)" in capsys.readouterr().out
    fc = trajmodes.ForceConstants.read(out / "fc.nc")
    assert fc.n_prim == 1 and fc.n_atoms == 256
    nu = trajmodes.Phonons(fc).frequencies([[0.5, 0, 0.5]])[0]
    assert 6.5 < nu.max() < 8.0                                     # LA at X of Cu near 300 K
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown < 1_000_000                                        # KB: the 60 GiB allocation is gone


def test_library_fit_of_a_first_frame_reference():
    traj = trajmodes.read(EX / "cu_fcc_300K.lammpstrj.gz", species=["Cu"])   # reference: the first frame
    with pytest.warns(UserWarning, match="time average of the run"):
        fit = EffectiveForceConstants(cutoff2=4.0).fit(traj)
    assert fit.primitive_.n_atoms == 1


def _random_run(n_atoms=8, n_frames=6, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    cell = np.eye(3) * 7.0
    x0 = rng.uniform(0, 7, (n_atoms, 3))
    pos = x0 + rng.normal(0, 0.05, (n_frames, n_atoms, 3))
    forces = rng.normal(0, 0.1, pos.shape)
    ref = trajmodes.Structure(x0 + rng.normal(0, noise, x0.shape), cell)
    return trajmodes.from_arrays(pos, cell, ["Cu"] * n_atoms, forces=forces, frame_interval=0.01, reference=ref)


def test_no_silent_p1_model():
    traj = _random_run()
    with pytest.raises(ValueError, match="no lattice translations.*allow_p1=True"):
        EffectiveForceConstants(cutoff2=3.0).fit(traj)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = EffectiveForceConstants(cutoff2=3.0, allow_p1=True, folds=2).fit(traj)
    assert fit.primitive_.n_atoms == 8


def test_memory_is_estimated_before_reading(monkeypatch):
    traj = trajmodes.read(EX / "md" / "si_300K.lammpstrj.gz", reference=EX / "md" / "si_300K.data")
    monkeypatch.setattr("trajmodes.resources.available_memory", lambda: 1 << 20)
    reads = []
    real = type(traj.source).read
    monkeypatch.setattr(type(traj.source), "read", lambda self, *a, **k: reads.append(1) or real(self, *a, **k))
    with pytest.raises(MemoryError) as err:
        EffectiveForceConstants(cutoff2=6.0, cutoff3=5.0).fit(traj)
    msg = str(err.value)
    assert "GiB" in msg and "parameters" in msg and "smaller cutoffs" in msg
    assert reads == []                                              # refused before any frame was read


@pytest.mark.parametrize("settings, words", [
    (dict(cutoff2=-1.0), "cutoff2 must be a positive"), (dict(cutoff2=float("nan")), "cutoff2 must be a positive"),
    (dict(cutoff3=0.0), "cutoff3 must be a positive"), (dict(folds=0), "folds must be"),
    (dict(stride=0), "stride must be"), (dict(n_frames=0), "n_frames must be"), (dict(symprec=-1e-3), "symprec"),
    (dict(mode="both"), "mode must be"), (dict(cv="random"), "cv must be"),
])
def test_bad_settings(settings, words):
    traj = trajmodes.read(EX / "md" / "si_300K.lammpstrj.gz", reference=EX / "md" / "si_300K.data")
    with pytest.raises(ValueError, match=words):
        EffectiveForceConstants(**settings).fit(traj)
