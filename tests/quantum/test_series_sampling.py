"""``trajmodes series --sampling POTENTIAL``: beside every run of a series the self-consistent sampling of the same
potential (Shulumba, Hellman and Minnich, Phys. Rev. B 95, 014302 (2017)), like for like, on real i-PI runs of fcc Ar
with Lennard-Jones made by the test (tests/quantum/lj_pimd.py: 32 atoms at the static lattice parameter, epsilon
10.4 meV, sigma 3.40 A, cutoff 8.7 A): a classical run (one bead) against the classical sampling and a 4-bead
path-integral run against the sampling of the 4-bead ring polymer, both at 10 K."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tests.quantum.lj_pimd import SYSTEMS, cached_lj_run
from trajmodes.cli import main

T = 10.0
AR = SYSTEMS["Ar"]
LJ = f"lj/cut:{AR['epsilon']},{AR['sigma']},{AR['cutoff']}"
QUANTUM = dict(n_beads=4, temperature=T, steps=1000, stride=5, timestep_fs=4.0, tau_fs=100.0, seed=31415)
CLASSICAL = dict(QUANTUM, n_beads=1, steps=2000)
#: the method's gap allowed beside 4 combined standard errors: the self-consistent harmonic ensemble against the
#: harmonic least-squares fit over the true, skewed ensemble (test docstring)
GAP = 0.03
#: two i-PI runs (about 7 s) and two samplings (about 15 s)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    pytest.importorskip("ipi")
    return (cached_lj_run(tmp_path_factory, system="Ar", timeout=600.0, **CLASSICAL),
            cached_lj_run(tmp_path_factory, system="Ar", timeout=600.0, **QUANTUM))


def test_series_sets_the_sampling_beside_classical_md_and_pimd(runs, tmp_path, capsys):
    """Both runs sit below their like-for-like sampling by the method's gap, within 4 combined standard errors plus 3 %,
    and the 4-bead sampling sits 2-5 % above the classical one (zero-point stiffening).

    Measured (seed 31415, 2026-11-28; X, L, K, W; ``pytest -s`` prints them): the classical run (2000 steps) lies
    -1.2 to -2.3 % below the classical sampling (-3 to -6 combined sigma), the 4-bead run (1000 steps) -2.2 to -3.1 %
    below the 4-bead sampling (-6 to -10 sigma): the harmonic-only fit over the true ensemble against the
    self-consistent harmonic one, the gap self_consistent.py measures on classical Ar at 10 K (-1.6 to -1.1 %), larger
    for the 4-bead ring polymer whose beads spread further (so it is the method's, not the path integral's; cubic terms
    close it, test_quantum_anharmonic.py). The bound, |run / sampling - 1| < 3 % + 4 sigma (about 4.2 %), fails for a
    sampling of the wrong kind: classical sampling against the 4-bead run would be 5.5-6.5 % off. The quantum sampling
    sits +3.3 to +3.8 % above the classical (the 4-bead run above the classical one by 2.6-3.1 %). About 30 s on two
    cores (7 s of i-PI, 10 s of sampling, the rest fits and figures).

    The margins over 12 draws (``python benchmarks/bench_quantum_argon.py --test series``, i-PI seeds 1-12 of both
    runs; 2026-11-28; a run on another machine is such a draw, the MD being chaotic): |run - sampling| reached at most
    0.85 of its bound (4 sigma + 3 %; 0.58-0.85, mean 0.71), run / sampling - 1 -3.8 to -1.1 %, (run - sampling) /
    2 sigma at most -1.4 (bound: below 1), the 4-bead sampling 3.1-4.0 % above the classical (bound 2-5 %) by at least
    14 sigma (bound 10). The command may print the blocking analysis' warning of a run short for its correlation time
    ("the error of the fit still grows at the longest blocks", as it did on one machine): a line on stderr, never the
    exit status (under the suite's filter it was raised inside the command, which exited 2)."""
    classical, quantum = runs
    out = tmp_path / "series"
    assert main(["series", str(classical / "sim.pos_0.xyz"), str(quantum / "sim.pos_0.xyz"), "--cutoff2", "4",
                 "--run-temperatures", "10", "10", "--resamples", "50", "--sampling", LJ, "--sampling-samples", "128",
                 "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "self-consistent sampling of " + LJ + " at 10.0 K, classical (like for like)" in text
    assert "quantum, 4 beads (like for like)" in text and "engine evaluations" in text
    assert "sampling, 4 beads" in text and "sampling, classical" in text and "the residual is the difference" in text
    with xr.open_dataset(out / "series.nc") as ds:
        ds = ds.load()
    assert ds.attrs["sampling_potential"] == LJ
    nu, err = ds.frequency.values, ds.frequency_err.values
    s, se = ds.sampling_frequency.values, ds.sampling_frequency_err.values
    assert ds.sampling_frequency.dims == ("run", "q", "branch") and ds.sampling_frequency.attrs["units"] == "THz"
    assert "Phys. Rev. B 95, 014302 (2017)" in ds.sampling_frequency.attrs["method"]
    assert "quantum, 4 beads" in ds.sampling_frequency.attrs["long_name"]
    assert list(ds.sampling_n_beads.values) == [0, 4] and ds.sampling_converged.values.all()
    ok = nu > 0.5                                                        # not the acoustic modes at Gamma
    sigma = np.hypot(err, se)
    print("run / sampling - 1:", np.round((nu / s - 1)[ok], 4), "z:", np.round(((nu - s) / sigma)[ok], 1))
    print("quantum / classical sampling - 1:", np.round((s[1] / s[0] - 1)[ok[1]], 4))
    assert (np.abs(nu - s) < 4 * sigma + GAP * s)[ok].all()
    assert (nu < s + 2 * sigma)[ok].all()                                # the gap's sign: the fit below the SCHA
    up = (s[1] / s[0] - 1)[ok[1]]
    assert ((up > 0.02) & (up < 0.05)).all()
    assert ((s[1] - s[0]) / np.hypot(se[1], se[0]) > 10)[ok[1]].all()


def test_series_refuses_a_potential_of_other_species_before_the_fit(runs, tmp_path, capsys):
    """Si's Stillinger-Weber against a run of Ar: one line naming both, before any fit; a file that is not there."""
    from pathlib import Path
    classical, _ = runs
    sw = Path(__file__).resolve().parents[2] / "examples" / "potentials" / "Si_SW1985.sw"
    assert main(["series", str(classical / "sim.pos_0.xyz"), "--cutoff2", "4", "--run-temperatures", "10",
                 "--sampling", str(sw), "-o", str(tmp_path / "a")]) != 0
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "is a potential of Si; the runs' species are Ar" in text and "fitting" not in text
    assert main(["series", str(classical / "sim.pos_0.xyz"), "--cutoff2", "4", "--run-temperatures", "10",
                 "--sampling", str(tmp_path / "none.sw"), "-o", str(tmp_path / "b")]) != 0
    captured = capsys.readouterr()
    assert "none.sw: no such potential file" in captured.out + captured.err
