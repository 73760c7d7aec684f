"""The committee's error bar where users read it: ``trajmodes fit`` on an extended XYZ file with a committee of learned
potentials prints (and returns in its dataset) the members' spread of the frequencies beside the sampling error bar,
and the Boltzmann equation's kappa carries the members' spread beside the bootstrap's.

Oracle: member m's forces are exactly -(Phi + dPhi_m) u (and - 1/2 (Psi + dPsi_m) u u for kappa), Morse constants of
different depths and stiffnesses on a tetragonal two-species crystal (:mod:`tests.forceconstants.committee_data`):
each member's fit returns its own constants, so the committee's error bar must be the exact standard deviation of the
members' frequencies (and kappas) to round-off. The run's own forces column is the members' mean plus noise: the
sampling error bar is that noise's, apart from the committee's.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

from trajmodes import ForceConstants
from trajmodes.cli import main
from trajmodes.forceconstants.committee import committee_view
from trajmodes.forceconstants.fit import EffectiveForceConstants

from tests.forceconstants.committee_data import (MEMBERS, PRIM, SC, committee_run, exact_frequencies,
                                                 write_committee_xyz)
from tests.support.morse import morse_fc, pair_fc3
from tests.support.standin import model_forces


@pytest.fixture(scope="module")
def xyz(tmp_path_factory):
    u, comm, f = committee_run(n_frames=40)
    path = tmp_path_factory.mktemp("committee") / "run.xyz"
    write_committee_xyz(path, u, comm, f)
    return path


def _fit(monkeypatch, argv):
    """Run ``trajmodes fit`` and return the frequency dataset it printed from."""
    import trajmodes.workflows.fit as wf
    seen = {}
    inner = wf.frequency_error_bars

    def keep(*a, **k):
        seen["ds"] = inner(*a, **k)
        return seen["ds"]
    monkeypatch.setattr(wf, "frequency_error_bars", keep)
    assert main(["fit", *argv]) == 0
    return seen["ds"]


def test_fit_prints_the_committee_error_bar_beside_the_sampling_one(xyz, tmp_path, monkeypatch, capsys):
    ds = _fit(monkeypatch, [str(xyz), "--cutoff2", "3.6", "-o", str(tmp_path / "fit")])
    out = capsys.readouterr().out
    M = len(MEMBERS)
    assert ds.attrs["committee_members"] == M and ds.frequency_members.shape[0] == M
    assert ds.frequency_committee_err.attrs["units"] == "THz" and "committee" in ds.frequency_committee_err.long_name
    # the exact spread of the members' frequencies at the printed q-points
    fc = ForceConstants.read(tmp_path / "fit" / "fc.nc")
    q_cart = ds.qpoint.values @ np.linalg.inv(fc.primitive.cell).T
    exact = exact_frequencies(q_cart)                                      # (M, nq, 6) THz
    got = ds.frequency_committee_err.values
    want = exact.std(axis=0, ddof=1)
    rel = np.abs(got - want) / np.maximum(want, 1e-3)
    print(f"committee error bar: up to {want.max():.4f} THz; off the exact spread by {np.abs(got - want).max():.1e} "
          f"THz (relative {rel[want > 1e-3].max():.1e} where it is above 1e-3 THz)")
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ds.frequency_members.values, exact, rtol=1e-9, atol=1e-6)
    # the sampling error bar is the run's noise, apart (0.02 eV/A of noise: far below the members' spread)
    sampling = ds.frequency_err.values
    moving = want > 1e-3
    print(f"sampling error bar: {sampling[moving].min():.4f} .. {sampling[moving].max():.4f} THz")
    assert (sampling[moving] > 1e-3).all() and (sampling[moving] < 0.3 * want[moving]).all()
    # printed: both columns, what each means, and the numbers of the dataset
    assert f"committee ({M} members)" in out and "sampling" in out
    assert "sampling: the standard error of the run's finite sampling" in out
    assert f"committee: the standard deviation over the {M} members' fits" in out
    k, b = 1, int(np.argmax(want[1]))                                      # a q-point after Gamma: its top branch
    assert f"{ds.frequency.values[k, b]:10.4f}  {sampling[k, b]:9.4f}  {got[k, b]:22.4f}" in out
    attrs = xr.open_dataset(tmp_path / "fit" / "fc.nc").attrs
    assert attrs["setting_weights"] == "none" and attrs["setting_committee"] == "auto"


def test_committee_no_and_weights(xyz, tmp_path, monkeypatch, capsys):
    """--committee no fits the forces alone (one error bar, as without a committee); --force-weights uncertainty
    weights by the committee's spread (the file has no force_std) and keeps the members' exact spread."""
    ds = _fit(monkeypatch, [str(xyz), "--cutoff2", "3.6", "--committee", "no", "-o", str(tmp_path / "plain")])
    out = capsys.readouterr().out
    assert "frequency_committee_err" not in ds and ds.attrs["committee_members"] == 0
    assert "committee (" not in out and "THz +- standard error" in out
    ds = _fit(monkeypatch, [str(xyz), "--cutoff2", "3.6", "--force-weights", "uncertainty", "-o", str(tmp_path / "w")])
    fc = ForceConstants.read(tmp_path / "w" / "fc.nc")
    want = exact_frequencies(ds.qpoint.values @ np.linalg.inv(fc.primitive.cell).T).std(axis=0, ddof=1)
    np.testing.assert_allclose(ds.frequency_committee_err.values, want, rtol=1e-6, atol=1e-6)
    assert xr.open_dataset(tmp_path / "w" / "fc.nc").attrs["setting_weights"] == "uncertainty"
    with pytest.raises(SystemExit):
        main(["fit", str(xyz), "--force-weights", "sigma", "-o", str(tmp_path / "bad")])
    assert "invalid choice: 'sigma'" in capsys.readouterr().err


def _full_psi(fc, c3):
    """Full (N, N, N, 3, 3, 3) third order from the compact one, by lattice translation."""
    idx = np.arange(fc.n_atoms)
    cols = fc.compact_columns(idx[:, None], idx[None, :])
    k = fc.smap.atom
    return c3[k[:, None, None], cols[:, :, None], cols[:, None, :]]


def _kappa(fc, mesh, T):
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    k = Anharmonic(fc, mesh, [T], occupation="classical", smearing=None).thermal_conductivity(method="rta")
    return float(np.trace(k["kappa"].values[0]) / 3)


def test_kappa_committee_error_bar_is_the_members_exact_spread():
    """A cubic-order fit to 3 members' exact harmonic + cubic forces: the Boltzmann equation's committee error bar is
    the standard deviation of the members' own kappas (the true constants', not the fit's), scaled to the converged
    mesh, to round-off."""
    from trajmodes.workflows.transport import boltzmann_beside
    members = MEMBERS[:3]
    skel = ForceConstants(np.zeros((PRIM.n_atoms, SC.n_atoms, 3, 3)), SC, PRIM)
    truth = []
    for D0, alpha in members:
        Phi = morse_fc(SC, D0=D0, alpha=alpha, r0=2.9, cutoff=3.5, nimg=1)
        c3 = pair_fc3(SC, PRIM, D0=D0, alpha=alpha, r0=2.9, cutoff=2.8, nimg=1)
        truth.append((Phi, c3))
    rng = np.random.default_rng(11)
    u = rng.normal(0.0, 0.04, (24, SC.n_atoms, 3))
    comm = np.stack([model_forces(u, Phi, _full_psi(skel, c3)) for Phi, c3 in truth], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = EffectiveForceConstants(cutoff2=3.6, cutoff3=2.8, mode="simultaneous", folds=2, segments=8)
        est.fit_arrays(SC, u, comm.mean(axis=1), committee_forces=comm)
    fcs = list(committee_view(est).resampled_force_constants())
    assert len(fcs) == 3 and all(f.fc3 is not None for f in fcs)
    T, mesh = 300.0, 4
    fit_fc = est.force_constants_
    bte = boltzmann_beside(fit_fc, fit_fc.smap.matrix, T, meshes=(mesh,), members=fcs, error_mesh=mesh)
    exact = np.array([_kappa(ForceConstants(Phi, SC, PRIM, fc3=c3), mesh, T) for Phi, c3 in truth])
    own = _kappa(fit_fc, mesh, T)
    converged = float(np.trace(bte.converged["kappa"].values[0]) / 3)
    want = exact.std(ddof=1) / own * converged
    print(f"members' kappa {np.round(exact, 4).tolist()} W/(m K); committee error bar {bte.kappa_committee_err:.5g} "
          f"(exact {want:.5g}, relative difference {abs(bte.kappa_committee_err - want) / want:.1e}); members off the "
          f"exact by {np.abs(np.array(bte.kappa_members) / exact - 1).max():.1e}")
    assert bte.committee_members == 3 and bte.kappa_err is None
    np.testing.assert_allclose(bte.kappa_members, exact, rtol=1e-7)
    assert abs(bte.kappa_committee_err - want) < 1e-6 * want and want > 0.02 * converged
    from trajmodes.cli.transport import _boltzmann_lines                 # what trajmodes conductivity prints
    text = "\n".join(_boltzmann_lines(bte, T, "the run's own constants"))
    assert f"+- {bte.kappa_committee_err:.2g} (committee of 3 members)" in text
    assert "two error bars:" in text and f"on the {mesh}x{mesh}x{mesh} mesh" in text
