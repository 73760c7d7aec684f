"""Path-integral runs through the command line, on a real i-PI run of a harmonic crystal made by the test (fcc springs,
<ffdebye>: the forces are exactly -H u, so the crystal's own constants are the exact answer of every estimator):
``fit`` pools the beads (the quantum ensemble, at the input's temperature, not the beads' kinetic one, which is P
times it) and prints the Kubo estimators beside it; ``info`` reads the centroid and says what it approximates;
``series`` sets a classical run (one bead) and the path-integral run side by side."""
from __future__ import annotations

import re

import numpy as np
import pytest
import xarray as xr

from tests.quantum.support import cached_ipi_run, harmonic_fcc
from trajmodes.cli import main

T = 30.0
CRYSTAL = harmonic_fcc()
KEYS = ("hessian", "masses", "positions", "cell", "species")


def _exact_frequencies(labels):
    """The crystal's own frequencies (THz) at the fcc special points ``labels``: its Hessian as force constants."""
    from trajmodes.forceconstants import ForceConstants
    from trajmodes.lattice import Crystal, special_points
    from trajmodes.phonons.harmonic import Phonons
    n = len(CRYSTAL["positions"])
    crystal = Crystal(CRYSTAL["cell"], CRYSTAL["positions"], CRYSTAL["species"], masses=CRYSTAL["masses"])
    fc = ForceConstants(CRYSTAL["hessian"].reshape(n, 3, n, 3).transpose(0, 2, 1, 3), crystal)
    pts = special_points(fc.primitive)
    return Phonons(fc).frequencies(np.array([pts[k] for k in labels], float))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    crystal = {k: CRYSTAL[k] for k in KEYS}
    # the run of test_bead_energies.py (made once per session): its bead potentials are a column more in sim.out
    quantum = cached_ipi_run(tmp_path_factory, n_beads=4, temperature=T, steps=1200, stride=4, bead_potentials=True,
                             **crystal)
    classical = cached_ipi_run(tmp_path_factory, n_beads=1, temperature=T, steps=6000, stride=6, **crystal)
    return quantum, classical


def test_fit_pools_the_beads_at_the_inputs_temperature_and_prints_the_kubo_estimators(runs, tmp_path, capsys,
                                                                                       monkeypatch):
    import trajmodes.plots
    quantum, _ = runs
    out = tmp_path / "fit"
    drawn = {}
    draw = trajmodes.plots.plot_dispersion_comparison
    monkeypatch.setattr(trajmodes.plots, "plot_dispersion_comparison",
                        lambda *a, **kw: drawn.update(kw) or draw(*a, **kw))
    assert main(["fit", str(quantum / "sim.pos_0.xyz"), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    # the figure says whose constants these are: the quantum ensemble's, of 4 beads
    assert drawn["title"].startswith("Ar, quantum effective phonons at 30 K (4 beads, ") and \
        drawn["label"] == "quantum effective (30 K)"
    assert "i-PI path-integral run: 4 beads at 30 K (input.xml): the fit pools its 4 beads" in text
    assert "the beads of a path-integral run are samples of the quantum ensemble" in text
    with xr.open_dataset(out / "fc.nc") as ds:
        # the input's temperature: the beads' own kinetic temperature is 4 x 30 K
        assert ds.attrs["temperature_K"] == pytest.approx(T)
        assert "sim.pos_3.xyz" in ds.attrs["inputs"]
    # the Kubo table: each row the bead fit (exact for this crystal) and the two estimators within 4 of their errors
    table = text[text.index("Kubo <u u>"):].splitlines()[1:]
    rows = [r for r in table if re.match(r"^\s+(\S+\s+)?\d+\.\d+\s+\d+\.\d+\+-", r)]
    assert len(rows) >= 8, table
    labels = [m.group(1) for r in table if (m := re.match(r"^\s{2}([A-Z])\s+\d", r))]
    exact = np.unique(np.round(_exact_frequencies(labels), 4))
    for r in rows:
        nums = [float(x) for x in re.findall(r"\d+\.\d+", r)]
        bead, (d, de), (f, fe) = nums[0], nums[1:3], nums[3:5]
        assert np.min(np.abs(exact - bead)) < 2e-4, (r, exact)
        assert abs(d - bead) < 4 * de and abs(f - bead) < 4 * fe, r
        assert 0 < de < 0.2 * bead and 0 < fe < 0.2 * bead, r


def test_info_reads_the_centroid_and_says_what_it_approximates(runs, capsys):
    quantum, _ = runs
    assert main(["info", str(quantum / "sim.pos_1.xyz")]) == 0
    text = capsys.readouterr().out
    assert "4 beads at 30 K" in text and "read as its centroid" in text and "Kubo-transformed" in text
    # the centroid's kinetic temperature is the run's (each bead's momenta sample P T; their mean T)
    t = float(re.search(r"temperature:\s+([\d.]+) \+-", text).group(1))
    assert 20 < t < 40, text


def test_series_sets_the_classical_and_the_quantum_run_side_by_side(runs, tmp_path, capsys):
    quantum, classical = runs
    out = tmp_path / "series"
    assert main(["series", str(classical / "sim.pos_0.xyz"), str(quantum / "sim.pos_0.xyz"), "--cutoff2", "4",
                 "--resamples", "20", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "fitted over its 4 beads (the quantum ensemble)" in text
    with xr.open_dataset(out / "series.nc") as ds:
        names = [str(n) for n in ds["name"].values]
        assert names[1].endswith("(4 beads)") and "beads" not in names[0], names
        temps = ds["temperature"].values
        assert temps[1] == pytest.approx(T)                       # the input's, not the beads' kinetic 120 K
        assert temps[0] == pytest.approx(T, rel=0.3)              # the classical run's own kinetic temperature


def test_run_caches_the_centroid_and_fits_over_the_beads(runs, tmp_path, capsys):
    """``run`` on a path-integral run: the summary and cache of the centroid, the constants of the beads (the
    quantum ensemble at the input's temperature), and a line that says which is which."""
    quantum, _ = runs
    out = tmp_path / "run"
    assert main(["run", str(quantum / "sim.pos_0.xyz"), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "the summary and the cache are its centroid's" in text and "fitted over the beads" in text
    with xr.open_dataset(out / "trajectory.nc") as cache, xr.open_dataset(out / "fc.nc") as fc:
        frames = cache.sizes["time"]
        assert fc.attrs["temperature_K"] == pytest.approx(T)
    fitted = int(re.search(r"(\d+) frames, \d+ force components", text).group(1))
    assert fitted == 4 * frames, (fitted, frames)                 # every bead of every frame: the quantum ensemble


def test_a_run_without_its_input_is_refused_until_its_temperature_is_given(runs, tmp_path, capsys):
    """Without the input beside the bead files the temperature is unknown (the beads' velocities sample P T): fit
    says so and names --temperature; given, it fits at that temperature."""
    import shutil
    quantum, _ = runs
    bare = tmp_path / "bare"
    bare.mkdir()
    for f in quantum.glob("sim.*"):
        shutil.copy(f, bare / f.name)
    assert main(["fit", str(bare / "sim.pos_0.xyz"), "-o", str(tmp_path / "no")]) != 0
    err = capsys.readouterr().err
    assert "temperature of the path-integral run, which is unknown" in err and "--temperature" in err, err
    assert not (tmp_path / "no" / "fc.nc").exists()
    assert main(["fit", str(bare / "sim.pos_0.xyz"), "--temperature", "30", "-o", str(tmp_path / "yes")]) == 0
    with xr.open_dataset(tmp_path / "yes" / "fc.nc") as ds:
        assert ds.attrs["temperature_K"] == pytest.approx(30.0)
