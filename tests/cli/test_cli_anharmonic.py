"""``trajmodes anharmonic``: linewidths, shifts and conductivity of fitted fc2 + fc3, files and figure."""
from __future__ import annotations

import contextlib

import numpy as np
import pytest
import xarray as xr

from trajmodes.cli import main
from trajmodes.phonons.anharmonic.anharmonic import Anharmonic

# The 20-frame runs these commands fit (cu32, 0.2 ps) are far shorter than their correlation time, so the fit's
# blocking analysis says its error bars are lower bounds: true and expected here (asserted in
# tests/io/test_provenance.py::test_run_files); the commands' other warnings stay visible
pytestmark = pytest.mark.filterwarnings("ignore:the error of the fit still grows at the longest blocks:UserWarning")


def test_anharmonic_command_writes_dataset_and_figure(cu_fc3, tmp_path, capsys):
    fc_path = tmp_path / "cu_fc3.nc"
    cu_fc3.write(fc_path, "netcdf")
    out = tmp_path / "anh"
    assert main(["anharmonic", str(fc_path), "--mesh", "6", "--temperatures", "300,600", "--smearing", "0.1",
                 "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "kappa_xx" in text and "irreducible q" in text
    with xr.open_dataset(out / "anharmonic.nc") as ds:
        assert ds["kappa"].shape == (2, 3, 3)
        ref = Anharmonic(cu_fc3, 6, [300.0, 600.0], smearing=0.1).thermal_conductivity()
        np.testing.assert_allclose(ds["kappa"].values, ref["kappa"].values, rtol=1e-12)
        np.testing.assert_allclose(ds["linewidth"].values, ref["linewidth"].values, rtol=1e-12)
        assert ds["kappa"].attrs["units"] == "W/(m K)" and "trajmodes_version" in ds.attrs
    assert (out / "anharmonic.png").stat().st_size > 10_000


def test_anharmonic_command_lbte_with_isotopes(cu_fc3, tmp_path, capsys):
    """--method lbte --isotopes: the LBTE conductivity with isotope scattering, the RTA beside it, as the API
    gives them."""
    fc_path = tmp_path / "cu_fc3.nc"
    cu_fc3.write(fc_path, "netcdf")
    out = tmp_path / "lbte"
    assert main(["anharmonic", str(fc_path), "--mesh", "4", "--temperatures", "300", "--smearing", "0.2",
                 "--method", "lbte", "--isotopes", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "(LBTE)" in text and "isotope scattering" in text
    ref = Anharmonic(cu_fc3, 4, [300.0], smearing=0.2, isotopes=True).thermal_conductivity(method="lbte")
    with xr.open_dataset(out / "anharmonic.nc") as ds:
        assert ds.attrs["kappa_method"] == "lbte"
        np.testing.assert_allclose(ds["kappa"].values, ref["kappa"].values, rtol=1e-10)
        np.testing.assert_allclose(ds["kappa_rta"].values, ref["kappa_rta"].values, rtol=1e-10)
        assert (ds["gamma_isotope"].values > 0).any()
        np.testing.assert_allclose(ds["gamma"].values, ds["gamma_phonon"].values + ds["gamma_isotope"].values,
                                   rtol=1e-12)
    assert (out / "anharmonic.png").stat().st_size > 10_000


def test_anharmonic_command_with_coherences(cu_fc3, tmp_path, capsys):
    """--coherences: the Wigner transport equation's populations' and coherences' conductivity from the widths of
    the run, as :func:`trajmodes.phonons.anharmonic.coherence.wigner_conductivity` gives them, in the file and the table (RTA
    and LBTE). The populations' term is above the RTA conductivity by what the velocity operator's elements between
    degenerate branches add (Cu 4^3, most q on high-symmetry lines: 1.6 %)."""
    fc_path = tmp_path / "cu_fc3.nc"
    cu_fc3.write(fc_path, "netcdf")
    for method in ("rta", "lbte"):
        out = tmp_path / method
        assert main(["anharmonic", str(fc_path), "--mesh", "4", "--temperatures", "300,600", "--smearing", "0.2",
                     "--method", method, "--coherences", "-o", str(out)]) == 0
        assert "kappa_C" in capsys.readouterr().out
        an = Anharmonic(cu_fc3, 4, [300.0, 600.0], smearing=0.2)
        with xr.open_dataset(out / "anharmonic.nc") as ds:
            w = an.wigner_conductivity(ds["gamma"].transpose("temperature", "q", "branch").values,
                                       ds["grid_point"].values)
            np.testing.assert_allclose(ds["kappa_coherences"].values, w.kappa_c, rtol=1e-12)
            np.testing.assert_allclose(ds["kappa_populations"].values, w.kappa_p, rtol=1e-12)
            assert (np.diagonal(w.kappa_c, axis1=1, axis2=2) > 0).all()
            rta = ds["kappa_rta" if method == "lbte" else "kappa"].values
            ratio = np.diagonal(w.kappa_p, axis1=1, axis2=2) / np.diagonal(rta, axis1=1, axis2=2)
            assert ((ratio > 1.0) & (ratio < 1.03)).all()                               # measured 1.016


def test_anharmonic_command_refuses_harmonic_constants(tmp_path, capsys):
    from tests.support.paths import EXAMPLES
    rc = main(["anharmonic", str(EXAMPLES / "fc" / "cu_eam"), "--mesh", "4", "-o", str(tmp_path / "x")])
    assert rc == 2
    assert "no third-order part" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_compare_command_on_a_run_too_short_to_resolve_the_lines(tmp_path, capsys):
    """The shipped 12 ps Cu run: fit fc2 + fc3, project, compare. Most of its lines are narrower than its
    resolution: the few clean fits are compared, and the command warns that the MD conductivity misses the rest."""
    from tests.support.paths import EXAMPLES
    dump, data = str(EXAMPLES / "md" / "cu_300K.lammpstrj.gz"), str(EXAMPLES / "md" / "cu_300K.data")
    fc, modes = str(tmp_path / "fit" / "fc.nc"), str(tmp_path / "project" / "modes.nc")
    assert main(["fit", dump, "--reference", data, "--cutoff2", "5", "--cutoff3", "3", "-o", str(tmp_path / "fit")]) == 0
    assert main(["project", dump, "--reference", data, "--force-constants", fc, "--full",
                 "-o", str(tmp_path / "project")]) == 0
    capsys.readouterr()
    assert main(["compare", modes, fc, "-o", str(tmp_path / "cmp")]) == 0
    text = capsys.readouterr().out
    assert "modes compared" in text and "MD FWHM / three-phonon FWHM: median" in text
    assert "warning:" in text and "lower bound" in text
    # MD beside the levels of theory, with what each explains
    assert "explains of MD" in text and "three-phonon, Delta(nu) - Delta(0)" in text
    assert "effective frequency (fc2 of the run)" in text and "the median three-phonon half width" in text
    with xr.open_dataset(tmp_path / "cmp" / "comparison.nc") as ds:
        assert ds.attrs["n_qpoints"] == 256 and 0 < ds.attrs["n_modes_compared"] < 100
        assert ds.attrs["kappa_md_missing_share"] > 0.5
        assert ds["pt_fwhm"].shape == (256, 3) and float(ds["kappa_pt"][0, 0]) > 0
        assert "trajmodes_version" in ds.attrs
    assert (tmp_path / "cmp" / "comparison.png").stat().st_size > 10_000
    # the finite-size sums are a diagnostic line, not a headline; the figure counts what it draws and stacks the
    # lineshapes on their own baselines instead of drawing a narrow line over the others
    assert "diagnostic only, not the crystal's conductivity" in text and "finite-size kappa" not in text
    from trajmodes.plots import plot_comparison
    with xr.open_dataset(tmp_path / "cmp" / "comparison.nc") as ds:
        fig = plot_comparison(ds.load())
        ok = np.isfinite(ds["fwhm_ratio_bulk"].values if "fwhm_ratio_bulk" in ds else ds["fwhm_ratio"].values)
    scatter = fig.axes[0].collections[0].get_offsets()
    drawn = int(((scatter[:, 0] > 0) & (scatter[:, 1] > 0)).sum())
    assert fig.axes[0].get_title().startswith(f"{drawn} modes drawn") and drawn <= ok.sum()
    assert "W/(m K)" not in fig._suptitle.get_text()
    tops = [float(np.nanmax(ln.get_ydata())) for ln in fig.axes[3].get_lines() if ln.get_linestyle() == "-"
            and len(ln.get_xdata()) > 2]
    assert len(tops) >= 2 and all(t2 - t1 > 0.1 for t1, t2 in zip(tops, tops[1:]))   # one baseline per mode


def test_compare_command_needs_cubic_constants(tmp_path, capsys):
    from tests.support.paths import EXAMPLES
    modes = tmp_path / "m.nc"
    xr.Dataset(dict(peak_fwhm=(("q", "branch"), np.ones((1, 3))))).to_netcdf(modes)
    assert main(["compare", str(modes), str(EXAMPLES / "fc" / "cu_eam"), "-o", str(tmp_path / "x")]) == 2
    assert "no third-order part" in capsys.readouterr().err


@pytest.mark.slow
def test_anharmonic_command_with_four_phonon_scattering(tmp_path, capsys):
    """--four-phonon SIGMA adds the four-phonon widths of a fit with --cutoff4 (reported apart, as the API gives
    them), in the RTA and on the diagonal of the LBTE's collision matrix, which then gives a lower conductivity."""
    from tests.support.paths import DATA
    fit = tmp_path / "fit"
    assert main(["fit", str(DATA / "cu32_xu.lammpstrj"), "--species", "Cu", "--md-timestep", "0.001", "--cutoff2",
                 "3.0", "--cutoff3", "2.6", "--cutoff4", "2.6", "-o", str(fit)]) == 0
    out = tmp_path / "anh"
    assert main(["anharmonic", str(fit / "fc.nc"), "--mesh", "4", "--smearing", "0.3", "--four-phonon", "0.3",
                 "-o", str(out)]) == 0
    assert "four-phonon scattering (Gaussian 0.3 THz)" in capsys.readouterr().out
    from trajmodes import ForceConstants
    fc = ForceConstants.read(fit / "fc.nc")
    with xr.open_dataset(fit / "fc.nc") as f:
        T = float(f.attrs["temperature_K"])                   # the default: the temperature the fit describes
    ref = Anharmonic(fc, 4, [T], smearing=0.3).linewidths(shifts=True, four_phonon=0.3)
    with xr.open_dataset(out / "anharmonic.nc") as ds:
        np.testing.assert_allclose(ds["gamma_four_phonon"].values, ref["gamma_four_phonon"].values, rtol=1e-12)
        np.testing.assert_allclose(ds["gamma"].values, ref["gamma"].values, rtol=1e-12)
        assert (ds["gamma_four_phonon"].values > 0).any()
    for four in ([], ["--four-phonon", "0.3"]):
        assert main(["anharmonic", str(fit / "fc.nc"), "--mesh", "4", "--smearing", "0.3", "--method", "lbte",
                     *four, "-o", str(tmp_path / f"lbte{len(four)}")]) == 0
    with xr.open_dataset(tmp_path / "lbte2" / "anharmonic.nc") as ds, \
            xr.open_dataset(tmp_path / "lbte0" / "anharmonic.nc") as ds3:
        np.testing.assert_allclose(ds["gamma_four_phonon"].values, ref["gamma_four_phonon"].values, rtol=1e-12)
        assert ds["kappa"].values[0, 0, 0] < ds3["kappa"].values[0, 0, 0]
    # adaptive smearing of both, the four-phonon sums sampled (2 x 2 x 2 cells), seeded: the API's numbers
    assert main(["anharmonic", str(fit / "fc.nc"), "--mesh", "4", "--smearing", "adaptive", "--four-phonon",
                 "adaptive", "--four-phonon-sample", "2", "--seed", "5", "-o", str(tmp_path / "adaptive")]) == 0
    assert "adaptive Gaussian smearing" in capsys.readouterr().out
    ref = Anharmonic(fc, 4, [T], smearing="adaptive").linewidths(
        shifts=True, four_phonon="adaptive", four_phonon_sample=(2, 2, 2), four_phonon_seed=5)
    with xr.open_dataset(tmp_path / "adaptive" / "anharmonic.nc") as ds:
        np.testing.assert_allclose(ds["gamma"].values, ref["gamma"].values, rtol=1e-12)
        assert ds.attrs["method"] == "adaptive gaussian"
    for bad, message in ((["--smearing", "wide"], "a positive width in THz or 'adaptive'"),
                         (["--smearing", "0.3", "--four-phonon-sample", "2"], "give --four-phonon with it")):
        with pytest.raises(SystemExit) if "wide" in bad else contextlib.nullcontext():
            code = main(["anharmonic", str(fit / "fc.nc"), "--mesh", "4", *bad, "-o", str(tmp_path / "bad")])
            assert code == 2
        assert message in capsys.readouterr().err


def test_three_phonon_result(cu_fc3):
    """workflows.three_phonon returns ThreePhonon: the calculator and its dataset."""
    from trajmodes.workflows import ThreePhonon, three_phonon
    r = three_phonon(cu_fc3, 4, [300.0], smearing=0.2)
    assert isinstance(r, ThreePhonon) and "kappa" in r.dataset
    assert r.dataset["kappa"].dims == ("temperature", "cartesian", "cartesian2") and r.anharmonic.grid.n_points == 64


def _unstable_bcc(tmp_path, fc3=True):
    """A one-atom bcc BvK crystal (first-shell 1XY > 1XX, a negative second-neighbour spring) with zero fc3: its
    transverse N-point mode is imaginary, as in bcc Zr at 0 K (tests/phonons/test_stability.py)."""
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.potentials.bvk import force_constants_from_bvk
    fc = force_constants_from_bvk({"1XX": 10.0, "1XY": 12.0, "2XX": -1.0}, "bcc", 3.6, 91.224, (3, 3, 3))
    n = fc.n_atoms
    fc = ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s,
                        fc3=np.zeros((1, n, n, 3, 3, 3)) if fc3 else None)
    path = tmp_path / "unstable.nc"
    fc.write(path, "netcdf")
    return path


def test_anharmonic_command_refuses_unstable_constants_in_one_line(tmp_path, capsys):
    path = _unstable_bcc(tmp_path)
    assert main(["anharmonic", str(path), "--mesh", "4", "--smearing", "0.2", "-o", str(tmp_path / "x")]) == 2
    errors = [ln for ln in capsys.readouterr().err.splitlines() if "error" in ln]
    assert len(errors) == 1
    err = errors[0]
    assert "imaginary modes" in err and "lowest -1.829 THz at N" in err
    assert "--allow-unstable" in err and "Fit effective constants" in err
    assert not (tmp_path / "x").exists()
    assert main(["anharmonic", str(path), "--mesh", "4", "--smearing", "0.2", "--allow-unstable",
                 "-o", str(tmp_path / "y")]) == 0
    out = capsys.readouterr().out
    assert "warning: the harmonic constants are unstable" in out and "lowest -1.829 THz at N" in out


def test_fit_compare_says_the_reference_is_unstable(tmp_path, capsys, data_dir):
    """fit --compare with constants that have imaginary modes: the largest difference comes with the count, the
    lowest and where; with stable ones, that they are stable."""
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.potentials.bvk import force_constants_from_bvk
    fcc = force_constants_from_bvk({"1XX": 13.0, "1XY": 15.0, "1ZZ": -1.0, "2XX": -6.0}, "fcc", 3.615, 63.546,
                                   (3, 3, 3))
    ref = tmp_path / "unstable_fcc.nc"
    ForceConstants(fcc.fc2, fcc.supercell, fcc.primitive, smap=fcc.smap, p2s=fcc.p2s).write(ref, "netcdf")
    run = [str(data_dir / "cu32_xu.lammpstrj"), "--species", "Cu", "--md-timestep", "0.001", "--cutoff2", "3.0"]
    assert main(["fit", *run, "--compare", str(ref), "-o", str(tmp_path / "fit")]) == 0
    line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("against ")][0]
    assert "reference unstable:" in line and "imaginary modes, lowest -" in line
    from tests.support.paths import EXAMPLES
    assert main(["fit", *run, "--compare", str(EXAMPLES / "fc" / "cu_eam"), "-o", str(tmp_path / "fit2")]) == 0
    line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("against ")][0]
    assert "reference stable" in line


def test_anharmonic_command_on_effective_constants_names_the_double_counted_static_bubble(cu_fc3, tmp_path, capsys):
    """Constants written by `trajmodes fit` (their provenance: a temperature and cutoffs) hold the static bubble
    Delta(0): the command says that its shift column (the full bubble) counts it twice and gives Delta(nu0) - Delta(0)
    beside it; Delta(0) is the real part at zero frequency computed on its own. Constants without that provenance
    get neither."""
    from trajmodes.modes.comparison import _real_parts
    fitted, plain = tmp_path / "fitted.nc", tmp_path / "plain.nc"
    cu_fc3.write(fitted, "netcdf", attrs={"temperature_K": 300.0, "setting_cutoff2": 5.0, "setting_cutoff3": 3.0})
    cu_fc3.write(plain, "netcdf")
    args = ["--mesh", "4", "--smearing", "0.2", "--occupation", "classical"]
    assert main(["anharmonic", str(fitted), *args, "-o", str(tmp_path / "a")]) == 0
    text = capsys.readouterr().out
    assert "effective constants fitted at 300 K" in text and "counts it twice" in text
    assert "Delta(nu0) - Delta(0), median +" in text
    with xr.open_dataset(tmp_path / "a" / "anharmonic.nc") as ds:
        assert ds.attrs["constants"] == "effective"
        an = Anharmonic(cu_fc3, 4, [300.0], occupation="classical", smearing=0.2)
        gps = ds["grid_point"].values
        _, static = _real_parts(an, gps, 0.2)
        np.testing.assert_allclose(ds["frequency_shift_static"].values[0], static, atol=1e-12)
        np.testing.assert_allclose(ds["frequency_shift_dynamic"].values,
                                   ds["frequency_shift"].values - ds["frequency_shift_static"].values, atol=1e-14)
        live = ds["frequency_harmonic"].values > 1e-3
        assert (ds["frequency_shift_static"].values[0][live] < 0).mean() > 0.9     # Delta(0) < 0: the static softening
    assert main(["anharmonic", str(plain), *args, "-o", str(tmp_path / "b")]) == 0
    assert "counts it twice" not in capsys.readouterr().out
    with xr.open_dataset(tmp_path / "b" / "anharmonic.nc") as ds:
        assert "frequency_shift_dynamic" not in ds and "constants" not in ds.attrs


def test_anharmonic_command_prints_the_warnings_of_the_workflows_result(cu_fc3, tmp_path, capsys):
    """The lines that put kappa in doubt come from the workflow's result (``three_phonon(...).warnings``): the
    command prints those, word for word (Cu with its third order times 1e-9: kappa 2.4e19 W/(m K))."""
    from trajmodes.forceconstants import ForceConstants
    from trajmodes.workflows.anharmonic import three_phonon
    weak = ForceConstants(cu_fc3.fc2, cu_fc3.supercell, cu_fc3.primitive, smap=cu_fc3.smap, p2s=cu_fc3.p2s,
                          fc3=cu_fc3.fc3 * 1e-9)
    fc_path = tmp_path / "weak.nc"
    weak.write(fc_path, "netcdf")
    assert main(["anharmonic", str(fc_path), "--mesh", "4", "--temperatures", "300", "--smearing", "0.2",
                 "-o", str(tmp_path / "anh")]) == 0
    text = capsys.readouterr().out.splitlines()
    expected = three_phonon(ForceConstants.read(fc_path), 4, [300.0], smearing=0.2).warnings
    assert len(expected) == 1 and "kappa reaches 2.4" in expected[0]
    assert [line for line in text if line.startswith("warning:")] == list(expected)


def test_anharmonic_command_prints_what_the_workflow_warns_and_nothing_of_its_own(cu_fc3, tmp_path, capsys,
                                                                               monkeypatch):
    """The command formats the workflow's warnings and computes none: a result that carries one line prints that
    line, and one that carries none prints no warning (Cu's honest kappa)."""
    import dataclasses

    from trajmodes.workflows import anharmonic
    fc_path = tmp_path / "cu.nc"
    cu_fc3.write(fc_path, "netcdf")
    real = anharmonic.three_phonon
    said = ("warning: what the workflow says",)
    monkeypatch.setattr(anharmonic, "three_phonon",
                        lambda *args, **kwargs: dataclasses.replace(real(*args, **kwargs), warnings=said))
    args = ["anharmonic", str(fc_path), "--mesh", "4", "--temperatures", "300", "--smearing", "0.2"]
    assert main(args + ["-o", str(tmp_path / "a")]) == 0
    assert [line for line in capsys.readouterr().out.splitlines() if line.startswith("warning:")] == list(said)
    monkeypatch.setattr(anharmonic, "three_phonon", real)
    assert main(args + ["-o", str(tmp_path / "b")]) == 0
    assert not [line for line in capsys.readouterr().out.splitlines() if line.startswith("warning:")]
