"""Each command reads its trajectory as few times as it can: ``run`` parses its dump once (the cache, the summary and,
where the reference is the run's time average, that average, in one pass) and reads its cache once (the fit, and the
displacements from an average reference, in one pass); ``info`` and ``convert`` parse the dump once (info writes the
positions to a scratch cache for the displacements from the average); ``fit`` parses it once (a time-average
reference summed in the same pass); ``project`` reads every frame once for the
modes' energies and spectra together.

Reads are counted at the sources (every frame that a LAMMPS dump parse or a cache read returns), and the summary the
one pass gives is checked against numpy on the frames read whole.
"""
from collections import Counter

import numpy as np
import pytest
import xarray as xr

import trajmodes
from tests.support.paths import DATA, EXAMPLES
from trajmodes.cli import main
from trajmodes.io.trajectories.lammps import LammpsDumpSource
from trajmodes.io.trajectories.netcdf import NetCDFSource
from trajmodes.units import AMU_A2_PS2_EV, KB_EV

# The 20-frame runs these commands fit (cu32, 0.2 ps) are far shorter than their correlation time, so the fit's
# blocking analysis says its error bars are lower bounds: true and expected here (asserted in
# tests/io/test_provenance.py::test_run_files); the commands' other warnings stay visible
pytestmark = pytest.mark.filterwarnings("ignore:the error of the fit still grows at the longest blocks:UserWarning")

DUMP = str(DATA / "cu32_xu.lammpstrj")          # 20 frames, 32 atoms, positions, velocities and forces
REF = str(DATA / "cu32.data")
N_FRAMES = 20
READ = ["--species", "Cu", "--md-timestep", "0.001", "--chunk-frames", "5"]    # four chunks


class Reads:
    """Every frame read from a dump and from a cache, with the fields asked for."""

    def __init__(self, monkeypatch):
        self.dump, self.cache = [], []
        for cls, log in ((LammpsDumpSource, self.dump), (NetCDFSource, self.cache)):
            monkeypatch.setattr(cls, "read", self._counting(cls.read, log))

    @staticmethod
    def _counting(real, log):
        def read(source, frames, fields=None):
            log.append((tuple(np.atleast_1d(frames).tolist()), None if fields is None else tuple(fields)))
            return real(source, frames, fields)
        return read

    @staticmethod
    def per_frame(log, where=lambda fields: True) -> Counter:
        """How many times each frame was read (by the reads whose fields pass ``where``)."""
        return Counter(k for frames, fields in log if where(fields) for k in frames)


def _parsed_once(counts: Counter) -> None:
    """Every frame parsed exactly once, apart from frame 0's reads as the reference check's snapshot (one frame)."""
    assert {k: n for k, n in counts.items() if k > 0} == {k: 1 for k in range(1, N_FRAMES)}, counts
    assert counts[0] <= 3, counts


@pytest.mark.parametrize("reference", [[], ["--reference", REF]], ids=["average", "given"])
def test_run_parses_the_dump_once_and_reads_the_cache_once(tmp_path, monkeypatch, reference):
    reads = Reads(monkeypatch)
    out = tmp_path / "out"
    assert main(["run", DUMP, *READ, *reference, "--cutoff2", "3.5", "-o", str(out)]) == 0
    _parsed_once(Reads.per_frame(reads.dump))
    assert sum(len(f) for f, _ in reads.dump) <= N_FRAMES + 3
    # the cache: once, by the fit (20 frames: too few for the error model's projection, which would read it again);
    # with a reference given, the positions of the frames the check of the run's crystal looks at before it
    # (trajmodes.forceconstants.phase.phase_frames: every frame of this short run), read from the cache, not held
    from trajmodes.forceconstants.phase import phase_frames
    fit_reads = [r for r in reads.cache if "forces" in r[1]]
    assert Reads.per_frame(fit_reads) == {k: 1 for k in range(N_FRAMES)}, reads.cache
    looks = [r for r in reads.cache if "forces" not in r[1]]
    assert all(fields == ("positions",) for _, fields in looks), reads.cache
    assert sum(len(f) for f, _ in looks) == (phase_frames(N_FRAMES, 32) if reference else 0), reads.cache
    assert (out / "summary.nc").exists() and (out / "fc.nc").exists()


@pytest.mark.parametrize("reference", [[], ["--reference", REF]], ids=["average", "given"])
def test_run_without_a_fit_parses_once(tmp_path, monkeypatch, reference):
    """--no-fit: the dump once; the cache not at all with the reference given, once (positions) for the
    displacements from the run's average."""
    reads = Reads(monkeypatch)
    assert main(["run", DUMP, *READ, *reference, "--no-fit", "-o", str(tmp_path / "out")]) == 0
    _parsed_once(Reads.per_frame(reads.dump))
    if reference:
        assert reads.cache == []
    else:
        assert Reads.per_frame(reads.cache) == {k: 1 for k in range(N_FRAMES)}
        assert {fields for _, fields in reads.cache} == {("positions",)}


@pytest.mark.parametrize("reference", [["--reference", REF], []], ids=["given", "average"])
def test_fit_parses_the_dump_once(tmp_path, monkeypatch, reference):
    """fit: one pass (the run's mean temperature from the fit's own pass, not a pass of its own); with the time
    average as the reference (the default), the average is summed in the same pass, measured from a provisional
    reference of two frames (the first and the last: 10 % of 20), which the pass takes from memory: every frame is
    parsed once."""
    reads = Reads(monkeypatch)
    assert main(["fit", DUMP, *READ, *reference, "--cutoff2", "3.5", "-o", str(tmp_path / "fit")]) == 0
    _parsed_once(Reads.per_frame(reads.dump))
    T = xr.open_dataset(tmp_path / "fit" / "fc.nc").attrs["temperature_K"]
    assert T == pytest.approx(_numpy_summary(reference=REF)["temperature"].mean(), rel=1e-12)


def test_info_and_convert_with_the_average_take_one_pass_for_it(tmp_path, monkeypatch):
    """The time-average reference costs no pass of its own: info sums it while its one parse writes the positions to
    a scratch cache (the displacements from the average are measured there; before, a positions-only pass came
    first), and convert while writing the cache."""
    reads = Reads(monkeypatch)
    assert main(["info", DUMP, *READ]) == 0
    _parsed_once(Reads.per_frame(reads.dump))
    # the forces beside the velocities: the configurational temperature that checks the kinetic one
    assert all(f == ("positions", "velocities", "forces") for _, f in reads.dump if f is not None), reads.dump
    reads.dump.clear()
    assert main(["convert", DUMP, *READ, "-o", str(tmp_path / "c")]) == 0
    _parsed_once(Reads.per_frame(reads.dump))
    stored = trajmodes.read(tmp_path / "c" / "trajectory.nc")
    assert stored.reference_is_average
    average = trajmodes.read(DUMP, species=["Cu"], md_timestep=0.001, reference="average").reference
    np.testing.assert_allclose(stored.reference.positions, average.positions, rtol=0, atol=1e-12)
    np.testing.assert_allclose(stored.reference.cell, average.cell, rtol=0, atol=1e-12)


def test_info_on_a_cluster_keeps_its_scratch_file_beside_the_dump(monkeypatch, tmp_path):
    """On a dask.distributed cluster (whose workers may run on machines that do not see this one's temporary folder)
    info's scratch file of displacements goes beside the dump, which the workers read, not into the temporary
    folder: the dump is parsed once, and both folders are left as they were."""
    import shutil
    import tempfile
    import trajmodes.resources
    # a client in name: the scratch file's place is all that is asked of it (objects are not scattered to it)
    monkeypatch.setattr(trajmodes.resources, "distributed_client", lambda: object())
    monkeypatch.setattr(trajmodes.resources, "scattering_client", lambda: None)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    beside = tmp_path / "run"
    beside.mkdir()
    dump = shutil.copy(DUMP, beside)
    reads = Reads(monkeypatch)
    assert main(["info", dump, *READ]) == 0
    _parsed_once(Reads.per_frame(reads.dump))
    fields = Counter(f for _, f in reads.dump if f is not None)
    assert fields == {("positions", "velocities", "forces"): 4}, fields
    assert not list(scratch.iterdir())
    assert not [p for p in beside.iterdir() if p.name.startswith(".trajmodes-summary-")]


def _numpy_summary(reference=None) -> dict:
    """The summary from every frame read at once, with numpy alone: displacements in the fixed cubic box by the
    minimum image from ``reference`` (a file) or the run's mean position (unwrapped coordinates: no image jumps)."""
    t = trajmodes.read(DUMP, species=["Cu"], md_timestep=0.001)
    f = t.read()
    L = f.cells[0].diagonal()
    if reference is None:
        r0 = f.positions.mean(axis=0)
    else:
        r0 = trajmodes.io.read_structure(reference).positions
    u = f.positions - r0[None]
    u -= L * np.round(u / L)
    m = t.masses
    ke = 0.5 * np.einsum("tia,i->t", f.velocities ** 2, m) * AMU_A2_PS2_EV
    return {"temperature": 2 * ke / ((3 * t.n_atoms - 3) * KB_EV), "msd": (u ** 2).mean(axis=(0, 1)),
            "rms_time": np.sqrt((u ** 2).sum(axis=2).mean(axis=1)), "drift": u.mean(axis=1),
            "max": np.sqrt((u ** 2).sum(axis=2)).max(), "volume": np.prod(L)}


@pytest.mark.parametrize("reference", [None, REF], ids=["average", "given"])
def test_the_one_pass_summary_is_numpy_on_the_whole_run(tmp_path, reference):
    """summary.nc of run (one pass, and for the average a second read of the cache shared with the fit) equals the
    statistics computed with numpy on all frames at once, and the fit's temperature is the summary's."""
    out = tmp_path / "out"
    assert main(["run", DUMP, *READ, *(["--reference", reference] if reference else []), "--cutoff2", "3.5",
                 "-o", str(out)]) == 0
    want = _numpy_summary(reference)
    s = xr.load_dataset(out / "summary.nc")
    np.testing.assert_allclose(s.temperature.values, want["temperature"], rtol=1e-13)
    np.testing.assert_allclose(s.msd.sel(species="Cu").values, want["msd"], rtol=1e-12)
    np.testing.assert_allclose(s.rms_time.sel(species="Cu").values, want["rms_time"], rtol=1e-12)
    np.testing.assert_allclose(s.drift.values, want["drift"], rtol=0, atol=1e-14)
    assert float(s.max_displacement) == pytest.approx(want["max"], rel=1e-12)
    np.testing.assert_allclose(s.volume.values, want["volume"], rtol=1e-14)
    fc = xr.open_dataset(out / "fc.nc")
    assert fc.attrs["temperature_K"] == pytest.approx(want["temperature"].mean(), rel=1e-13)
    cache = xr.open_dataset(out / "trajectory.nc")
    assert cache.attrs["temperature_K"] == pytest.approx(want["temperature"].mean(), rel=1e-13)
    assert cache.attrs["setting_reference"] == (reference or "average")
    assert bool(cache.attrs["reference_is_time_average"]) == (reference is None)


def test_mode_spectra_read_each_frame_once(monkeypatch):
    """project's Welch spectra, streamed in waves of chunks, read every frame once: the frames before a chunk and the
    tail carried to the next wave come from the chunks already read (project: this pass and the energies')."""
    import dask
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.workflows import load_force_constants
    t = trajmodes.read(DUMP, species=["Cu"], md_timestep=0.001, reference=REF, chunk_frames=5)
    modes = trajmodes.project(t, Phonons(load_force_constants(EXAMPLES / "fc" / "cu_eam")))
    reads = Reads(monkeypatch)
    with dask.config.set(num_workers=1):                # waves of two chunks: a tail carried between waves
        s = trajmodes.mode_spectra(modes, resolution=25.0)
    assert s.attrs["segment_frames"] < 5 and s.attrs["time_chunk_frames"] == 5
    assert Reads.per_frame(reads.dump) == {k: 1 for k in range(N_FRAMES)}, reads.dump


@pytest.mark.parametrize("full", [False, True], ids=["welch", "full"])
def test_project_reads_each_frame_once_for_energies_and_spectra(monkeypatch, full):
    """``project``'s dataset: the modes' mean energies are summed in the spectra's pass (before, the energies took a
    pass of their own: every frame read twice), and equal those of :func:`trajmodes.mode_energies` on its own."""
    import dask
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.workflows import load_force_constants, modes_dataset
    t = trajmodes.read(DUMP, species=["Cu"], md_timestep=0.001, reference=REF, chunk_frames=5)
    modes = trajmodes.project(t, Phonons(load_force_constants(EXAMPLES / "fc" / "cu_eam")))
    reads = Reads(monkeypatch)
    with dask.config.set(num_workers=1):
        ds = modes_dataset(modes, resolution=25.0, full=full)
    assert Reads.per_frame(reads.dump) == {k: 1 for k in range(N_FRAMES)}, reads.dump
    alone = trajmodes.mode_energies(modes)
    for name in ("kinetic", "potential"):
        np.testing.assert_allclose(ds[name].values, alone[name].values, rtol=1e-12, atol=0)
    assert ds.attrs["temperature"] == pytest.approx(alone.attrs["temperature"], rel=1e-12)
    assert "mean_kinetic" not in ds


def test_mode_energies_use_the_given_means_with_the_time_series():
    """Means known from another pass are used as given, also when the time series is asked for (computed then)."""
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.workflows import load_force_constants
    t = trajmodes.read(DUMP, species=["Cu"], md_timestep=0.001, reference=REF, chunk_frames=5)
    modes = trajmodes.project(t, Phonons(load_force_constants(EXAMPLES / "fc" / "cu_eam")))
    alone = trajmodes.mode_energies(modes, time_series=True, decimate=5)
    marked = (alone["kinetic"].values * 2, alone["potential"].values * 3)
    given = trajmodes.mode_energies(modes, time_series=True, decimate=5, means=marked)
    np.testing.assert_array_equal(given["kinetic"].values, marked[0])
    np.testing.assert_array_equal(given["potential"].values, marked[1])
    np.testing.assert_array_equal(given["kinetic_t"].values, alone["kinetic_t"].values)


def test_convert_to_displacements_parses_once(tmp_path, monkeypatch):
    """--displacements with the reference given: the displacements and the other fields from one parse."""
    reads = Reads(monkeypatch)
    assert main(["convert", DUMP, *READ, "--reference", REF, "--displacements", "-o", str(tmp_path / "c")]) == 0
    _parsed_once(Reads.per_frame(reads.dump))
    back = trajmodes.read(tmp_path / "c" / "trajectory.nc", chunk_frames=20)
    direct = trajmodes.read(DUMP, species=["Cu"], md_timestep=0.001, reference=REF, chunk_frames=20)
    np.testing.assert_array_equal(back.displacements().compute(), direct.displacements().compute())
