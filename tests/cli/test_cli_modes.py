"""`trajmodes project` and `trajmodes lifetimes` end to end on a short slice of cu_300K."""

import pytest
import numpy as np
import xarray as xr

from tests.support.paths import EXAMPLES
import trajmodes
from trajmodes.lattice.qpoints import commensurate_qpoints
from trajmodes.cli import main
from trajmodes.workflows import modes_dataset, path_bands
from trajmodes.lattice.paths import path_coordinates

MD = EXAMPLES / "md"


@pytest.mark.slow
def test_modes_dataset_and_lifetimes(tmp_path, capsys, cu_eam_phonons):
    traj = trajmodes.read(str(MD / "cu_300K.lammpstrj.gz"), reference=str(MD / "cu_300K.data"))
    ph = cu_eam_phonons
    q = commensurate_qpoints(np.diag([4, 4, 4]) @ np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]]))[:12]
    modes = trajmodes.project(traj, ph, qpoints=q).compute()
    ds = modes_dataset(modes, resolution=0.2, phonons=ph)
    for n in ("psd", "psd_fitted", "sed", "vdos", "equipartition", "peak_frequency", "peak_fwhm",
              "peak_lifetime", "peak_status", "star", "path_frequency", "rotations"):
        assert n in ds
    assert "Q" not in ds and "Q_real" not in ds
    path = tmp_path / "m.nc"
    ds.to_netcdf(path, engine="netcdf4")
    back = xr.load_dataset(path)
    np.testing.assert_allclose(back.peak_frequency.values, ds.peak_frequency.values)
    assert main(["lifetimes", str(path), "--plot", "--modes", "1:2,2:0", "-o", str(tmp_path / "fig")]) == 0
    out = capsys.readouterr().out
    assert "status" in out and "equipartition" in out and "lifetime = 1/(2 pi FWHM)" in out
    for k in ("fits", "dispersion", "sed"):                       # -o: the folder of the figures
        assert (tmp_path / "fig" / f"m_{k}.png").stat().st_size > 10_000
    assert "dispersion plot" not in out                           # the path came from the file
    pb = path_bands(back)
    bands, rot, note = pb.bands, pb.rotations, pb.note
    assert note == "" and bands.attrs["tick_labels"][:2] == ["Γ", "X"] and rot.shape == (48, 3, 3)
    np.testing.assert_allclose(bands.frequency.values, ph.band_structure().frequency.values)
    # a file from before the path was stored, its force constants gone: q-index plot with a note
    old = back.drop_vars([n for n in back.variables if n.startswith("path_") or n == "rotations"])
    old.attrs = {k: v for k, v in back.attrs.items() if not k.startswith("path_")}
    old.attrs["force_constants"] = str(tmp_path / "gone")
    old.to_netcdf(tmp_path / "old.nc", engine="netcdf4")
    assert main(["lifetimes", str(tmp_path / "old.nc"), "--plot", "-o", str(tmp_path / "old")]) == 0
    assert "q by index" in capsys.readouterr().out
    assert (tmp_path / "old" / "old_dispersion.png").stat().st_size > 10_000
    # ... and with its force constants given: the path is recomputed
    assert main(["lifetimes", str(tmp_path / "old.nc"), "--plot", "-o", str(tmp_path / "old2"),
                 "--force-constants", str(EXAMPLES / "fc" / "cu_eam")]) == 0
    assert "path from" in capsys.readouterr().out
    assert (tmp_path / "old2" / "old_dispersion.png").stat().st_size > 10_000
    assert main(["lifetimes", str(path), "--plot", "--modes", "99:0"]) == 2      # out of range: clear error


def test_project_cli_errors(tmp_path, capsys):
    rc = main(["project", str(MD / "cu_300K.lammpstrj.gz"), "--force-constants", str(tmp_path / "nope"),
               "-o", str(tmp_path / "m")])
    assert rc == 2 and "no such file" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_project_chooses_its_qpoints(tmp_path, capsys):
    """--path, --q-count: the modes of those commensurate q only; --qpoints off the grid: one line naming the nearest
    commensurate q; two choices at once: refused by the parser."""
    run = [str(MD / "cu_300K.lammpstrj.gz"), "--reference", str(MD / "cu_300K.data"), "--force-constants",
           str(EXAMPLES / "fc" / "cu_eam")]
    for opts, nq in ((["--path", "GX"], 5), (["--q-count", "7"], 7)):
        # a run shorter than one default Welch segment: its own 1/T as the bin, without a warning
        assert main(["project", *run, *opts, "-o", str(tmp_path / opts[0][2:])]) == 0
        ds = xr.load_dataset(tmp_path / opts[0][2:] / "modes.nc")
        assert ds.sizes["q"] == nq and f"x {nq} q x 3 branches" in capsys.readouterr().out
    assert main(["project", *run, "--qpoints", "0.3 0 0", "-o", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err.strip()
    assert "not commensurate with the MD supercell" in err and "[0.25, 0.0, 0.0]" in err and "\n" not in err
    with pytest.raises(SystemExit):
        main(["project", *run, "--path", "GX", "--q-max", "1", "-o", str(tmp_path / "two")])
    assert "not allowed with argument" in capsys.readouterr().err


def test_path_coordinates_fcc_cu(cu_eam_phonons):
    """X, L, Delta_1/2 of fcc Cu and their star images land where they belong on Gamma-X-W-K-Gamma-L-U-W-L-K|U-X;
    every hit has the harmonic frequencies of the path at that point (checks q' = R^-T q)."""
    ph = cu_eam_phonons
    bands = ph.band_structure()
    ticks = list(zip(bands.attrs["tick_labels"], bands.attrs["tick_distance"]))            # Γ X W K Γ L U W L K|U X
    d_x, d_x2 = [d for k, d in ticks if k == "X"]                                             # X twice, L twice
    assert bands.attrs["tick_labels"][-1] == "X"
    rot = ph.force_constants.primitive.rotations
    cases = {  # reduced q (primitive reciprocal basis) -> expected distances
        "X": ([(0, .5, .5), (.5, 0, .5), (.5, .5, 0), (0, -.5, -.5), (-.5, .5, 0)], [d_x, d_x2]),
        "L": ([(.5, .5, .5), (.5, 0, 0), (0, .5, 0), (0, 0, -.5)], [d for k, d in ticks if k == "L"]),
        "Delta_1/2": ([(0, .25, .25), (.25, 0, .25), (-.25, -.25, 0), (0, -.25, -.25)], [0.5 * d_x]),
    }
    for label, (qs, expected) in cases.items():
        for q, d in zip(qs, path_coordinates(qs, bands, rot)):
            np.testing.assert_allclose(d, expected, atol=1e-9, err_msg=f"{label} {q}")
    # a general commensurate q: off the path
    assert path_coordinates([(0.125, 0.25, 0.375)], bands, rot)[0].size == 0
    # every commensurate q of the 4x4x4 fcc supercell that lands on the path has the path's frequencies there
    q = commensurate_qpoints(np.diag([4, 4, 4]) @ np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]]))
    seg, dist, bq = bands.segment.values, bands.distance.values, bands.qpoint.values
    n_on = 0
    for qi, ds in zip(q, path_coordinates(q, bands, rot)):
        for d in ds:
            s = seg[np.flatnonzero(dist <= d + 1e-12)[-1]]
            i0, i1 = np.flatnonzero(seg == s)[[0, -1]]
            t = (d - dist[i0]) / (dist[i1] - dist[i0])
            qp = bq[i0] + t * (bq[i1] - bq[i0])
            np.testing.assert_allclose(np.sort(ph.frequencies([qp])[0]), np.sort(ph.frequencies([qi])[0]),
                                       atol=1e-6)
            n_on += 1
    assert n_on > 10


def test_lifetimes_after_full_spectra_do_not_advise_full(tmp_path, capsys, cu_eam_phonons):
    """A 12 ps run leaves lines below resolution; after --full (one periodogram) the advice is a longer run, not
    --full again."""
    traj = trajmodes.read(str(MD / "cu_300K.lammpstrj.gz"), reference=str(MD / "cu_300K.data"))
    q = commensurate_qpoints(np.diag([4, 4, 4]) @ np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]]))[:12]
    modes = trajmodes.project(traj, cu_eam_phonons, qpoints=q).compute()
    texts = {}
    for full in (False, True):
        path = tmp_path / f"m{int(full)}.nc"
        modes_dataset(modes, resolution=0.2, full=full, phonons=cu_eam_phonons).to_netcdf(path, engine="netcdf4")
        assert main(["lifetimes", str(path)]) == 0
        texts[full] = capsys.readouterr().out
    assert "narrower than this run resolves" in texts[False] and "or try --full" in texts[False]
    assert "narrower than this run resolves" in texts[True] and "try --full" not in texts[True]
    assert "already one periodogram of the whole run (--full)" in texts[True]


def test_project_flags_the_imaginary_modes_of_unstable_constants(tmp_path, capsys, cu_eam_phonons):
    """Force constants with imaginary frequencies (the Cu EAM constants with their sign flipped: D(q) -> -D(q), every
    mode but the translations imaginary, with the same eigenvectors): `project` used to report each mode as an
    ordinary one, status ok, with shift = peak - (negative frequency) and <E>/kT < 0 (bcc Zr on its 0 K constants:
    N TA1 "shift +3.5503", -5.53 kT). Now every such mode has the status "imaginary harmonic frequency", NaN shift,
    potential and total energy and equipartition ratio, and the summary says how many, where, and what to do. The
    peaks themselves are the run's: the spectra on -D are those on D, so the fitted frequencies are the same."""
    fc = cu_eam_phonons.force_constants
    flipped = trajmodes.ForceConstants(-fc.compact(), fc.supercell, fc.primitive)
    flipped.write(tmp_path / "unstable.nc")
    # a run shorter than one default Welch segment: its own 1/T as the bin, without a warning
    assert main(["project", str(MD / "cu_300K.lammpstrj.gz"), "--reference", str(MD / "cu_300K.data"),
                 "--force-constants", str(tmp_path / "unstable.nc"), "-o", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "UNSTABLE: 765 modes" in out and "imaginary harmonic frequencies" in out and "trajmodes fit" in out
    ds = xr.load_dataset(tmp_path / "p" / "modes.nc")
    moving = ~ds.translation.values
    assert (ds.peak_status.values[moving] == "imaginary harmonic frequency").all() and ds.unstable.values[moving].all()
    for n in ("peak_shift", "potential", "total", "equipartition"):
        assert np.isnan(ds[n].values[moving]).all(), n
    assert np.isfinite(ds.peak_frequency.values[moving]).all() and np.isfinite(ds.kinetic.values).all()
    # the same run on the stable constants: the same lines, status ok, no UNSTABLE line
    traj = trajmodes.read(str(MD / "cu_300K.lammpstrj.gz"), reference=str(MD / "cu_300K.data"))
    # a run shorter than one default Welch segment: its own 1/T as the bin, without a warning
    stable = modes_dataset(trajmodes.project(traj, cu_eam_phonons), phonons=cu_eam_phonons)
    assert not stable.unstable.values.any() and np.isfinite(stable.equipartition.values[moving]).all()
    np.testing.assert_allclose(np.sort(ds.peak_frequency.values, axis=1), np.sort(stable.peak_frequency.values, axis=1),
                               atol=1e-6)


def test_summary_states_the_stretch_the_spectra_cover(tmp_path, capsys, cu_eam_phonons):
    """Welch segments overlap: the spectra of a 12 ps run cover 12 ps, not n_segments x the segment length (the
    summary said 80 ps for a 50 ps run, 380 ps for a 200 ps one)."""
    from trajmodes.cli.modes import modes_summary, spectra_span_ps
    traj = trajmodes.read(str(MD / "cu_300K.lammpstrj.gz"), reference=str(MD / "cu_300K.data"))
    run_ps = float(traj.n_frames * (traj.times[1] - traj.times[0]))
    q = commensurate_qpoints(np.diag([4, 4, 4]) @ np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]]))[:6]
    modes = trajmodes.project(traj, cu_eam_phonons, qpoints=q).compute()
    said = []
    for resolution, full in ((0.2, False), (0.5, False), (0.2, True)):
        ds = modes_dataset(modes, resolution=resolution, full=full)
        span = spectra_span_ps(ds.attrs)
        assert run_ps - ds.attrs["spectra_hop_ps"] - 1e-9 <= span <= run_ps + 1e-9, (resolution, full, span, run_ps)
        assert ds.attrs["spectra_n_segments"] == 1 or ds.attrs["spectra_n_segments"] * ds.attrs[
            "spectra_segment_length_ps"] > run_ps                                  # what the old line printed
        text = modes_summary(ds)
        assert "spectra span about" not in text or f"spectra span about {span:.0f} ps" in text
        said.append("spectra span about" in text)
    assert any(said)


def test_project_on_fitted_constants_names_them_effective(tmp_path, capsys):
    """Constants written by `trajmodes fit` give effective frequencies at the run's temperature: `project` records
    that (``constants``, ``fitted_temperature``) and its figures label the reference "effective (T K)", not
    "harmonic"; constants of unknown origin keep "harmonic"."""
    from trajmodes.plots.modes import plot_mode_fits, reference_name
    run = [str(MD / "cu_300K.lammpstrj.gz"), "--reference", str(MD / "cu_300K.data")]
    assert main(["fit", *run, "--cutoff2", "4.5", "-o", str(tmp_path / "fit")]) == 0
    # a run shorter than one default Welch segment: its own 1/T as the bin, without a warning
    assert main(["project", *run, "--force-constants", str(tmp_path / "fit" / "fc.nc"),
                 "-o", str(tmp_path / "p")]) == 0
    capsys.readouterr()
    ds = xr.load_dataset(tmp_path / "p" / "modes.nc")
    assert ds.attrs["constants"] == "effective" and 250 < ds.attrs["fitted_temperature"] < 350
    assert reference_name(ds) == f"effective ({ds.attrs['fitted_temperature']:.0f} K)"
    fig = plot_mode_fits(ds, [(5, 0), (5, 2)])
    labels = [t.get_text() for a in fig.axes for t in a.get_legend().get_texts()]
    assert any(t.startswith("effective (") for t in labels) and not any(t.startswith("harmonic") for t in labels)
    # a run shorter than one default Welch segment: its own 1/T as the bin, without a warning
    assert main(["project", *run, "--force-constants", str(EXAMPLES / "fc" / "cu_eam"),
                 "-o", str(tmp_path / "h")]) == 0
    h = xr.load_dataset(tmp_path / "h" / "modes.nc")
    assert h.attrs["constants"] == "harmonic" and "fitted_temperature" not in h.attrs and reference_name(h) == "harmonic"
