"""The fit of a LAMMPS dump from the run's time average reads the dump once: the time average is summed in the fit's
own pass, and the displacements are measured from the ideal sites of a provisional reference (the exact mean cell,
the atoms averaged over a few frames), which are the average's ideal sites up to one translation of the whole
crystal; the constants obey the acoustic sum rules, so they are those of the two passes (the average first)."""
import warnings

import numpy as np
import pytest

import trajmodes
from trajmodes.errors import ReferenceMismatchError
from trajmodes.forceconstants.fit import EffectiveForceConstants
from tests.conftest import EXAMPLES
from tests.support.dumps import count_parsed_frames, read_average, write_frames
from trajmodes.trajectory.passes import provisional_frames

DUMP = EXAMPLES / "cu_fcc_300K.lammpstrj.gz"


@pytest.mark.parametrize("cutoff3", [None, 3.0])
def test_a_dump_is_read_once_and_gives_the_two_pass_constants(cutoff3):
    one = read_average(DUMP)
    frames = count_parsed_frames(one)
    # simultaneous: one pass over the frames for every order (sequential fits take one per order)
    a = EffectiveForceConstants(cutoff2=5.0, cutoff3=cutoff3, mode="simultaneous").fit(one)
    n = one.n_frames
    # every frame parsed once: the provisional reference's frames (first, a share per core) are held for the pass
    assert sum(frames) == n and len(provisional_frames(n)) in np.cumsum(frames), frames
    assert not one.reference_known and a.time_average_ is not None   # the average is the fit's: the run left as it was
    two = read_average(DUMP)
    two.reference                                                  # the average first, in a pass of its own
    b = EffectiveForceConstants(cutoff2=5.0, cutoff3=cutoff3, mode="simultaneous").fit(two)
    np.testing.assert_allclose(a.time_average_.positions, two.reference.positions, rtol=0, atol=1e-11)
    assert np.abs(a.fc2_ - b.fc2_).max() < 1e-12 * np.abs(b.fc2_).max()
    if cutoff3 is not None:
        assert np.abs(a.fc3_ - b.fc3_).max() < 1e-12 * np.abs(b.fc3_).max()
    for name in ("r2", "rmse", "cv_rmse"):
        np.testing.assert_allclose(a.scores_[name].values, b.scores_[name].values, rtol=1e-12)
    # the ideal sites of the two: one translation of the whole crystal apart, far below the noise of the average
    shift = a.supercell_.positions - b.supercell_.positions
    assert np.abs(shift - shift.mean(axis=0)).max() < 1e-12
    assert np.abs(shift.mean(axis=0)).max() < 0.05


def test_an_atom_off_its_site_in_the_provisional_frames_is_refused(tmp_path):
    """One atom 1 A off its site in every frame but those of the provisional reference: their ideal sites are the
    crystal's, but the run's average puts the atom elsewhere, and the fit says so rather than measuring it from the
    wrong site."""
    src = read_average(DUMP)
    fr = src.read()
    pos = fr.positions.copy()
    pos[:, 0] += np.array([1.0, 0.0, 0.0])                          # atom 0 off its site in every frame...
    pos[provisional_frames(src.n_frames), 0] -= np.array([1.0, 0.0, 0.0])     # ...but the provisional reference's
    path = write_frames(tmp_path / "moved.lammpstrj", fr, pos, forces=fr.forces)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traj = trajmodes.read(str(path), reference="average", species=["Cu"], md_timestep=0.001)
        with pytest.raises(ReferenceMismatchError, match="sit off the lattice sites of a few of its frames"):
            EffectiveForceConstants(cutoff2=3.0).fit(traj)


def _noisyprovisional_frames(tmp_path):
    """The shipped Cu run with the frames of the provisional reference shaken by 1 A: their average is no crystal,
    the run's average (200 frames) still is."""
    src = read_average(DUMP)
    fr = src.read()
    pos = fr.positions.copy()
    ahead = provisional_frames(src.n_frames)
    pos[ahead] += 1.0 * np.random.default_rng(1).standard_normal((len(ahead),) + pos.shape[1:])
    return write_frames(tmp_path / "shaken.lammpstrj", fr, pos, velocities=fr.velocities, forces=fr.forces)


def test_a_provisional_reference_too_noisy_for_the_symmetry_search_takes_the_average_first(tmp_path):
    """The provisional frames shaken by 1 A, also in the denser average (which holds them): the average of the run in
    a pass of its own, then the fit's."""
    import contextlib
    from trajmodes.trajectory.passes import Pass
    path = _noisyprovisional_frames(tmp_path)
    one = read_average(path)
    frames = count_parsed_frames(one)
    with pytest.MonkeyPatch.context() as mp:              # the counts below without frames read ahead
        mp.setattr(Pass, "reading_ahead", lambda self, layer=None: contextlib.nullcontext())
        a = EffectiveForceConstants(cutoff2=5.0).fit(one)
    n = one.n_frames
    # the provisional frames, those the denser average adds (held), frame 0, then the average's pass and the fit's,
    # each without the held frames
    dense = len(provisional_frames(n, denser=True))
    assert sum(frames) == dense + 1 + 2 * (n - dense), frames
    two = read_average(path)
    two.reference
    b = EffectiveForceConstants(cutoff2=5.0).fit(two)
    np.testing.assert_array_equal(a.fc2_, b.fc2_)


def test_frames_are_read_ahead_while_the_symmetry_is_searched(monkeypatch):
    """While the fit searches the symmetry of its provisional reference (one core busy, seconds at 10^6 atoms), a
    thread parses the pass's first frames and holds them: the pass takes them from memory (every frame still parsed
    once), each is let go once the pass has read it (none left when the pass ends), and the constants are the two
    passes' ones."""
    import threading
    import time
    from trajmodes.trajectory.passes import Pass
    one = read_average(DUMP)
    n = one.n_frames
    parsed, read = [], one.source.read

    def counting(fr, fields=None):
        parsed.append((threading.current_thread().name, [int(f) for f in fr]))
        return read(fr, fields)
    one.source.read = counting
    real = EffectiveForceConstants._ideal

    def slow(self, supercell, averaged=False):                # until 30 frames are held, at most 60 s
        end = time.monotonic() + 60
        while len(reading.frames) < 30 and time.monotonic() < end:
            time.sleep(0.01)
        return real(self, supercell, averaged)
    monkeypatch.setattr(EffectiveForceConstants, "_ideal", slow)
    left, release = [], Pass.release

    def counting_left(self):
        left.append(len(self.frames))
        return release(self)
    monkeypatch.setattr(Pass, "release", counting_left)
    reading = Pass(one)
    a = EffectiveForceConstants(cutoff2=5.0, mode="simultaneous").fit(one, reading=reading)
    monkeypatch.undo()
    assert left and max(left) == 0, left
    ahead = [f for name, fr in parsed if name == "trajmodes-read-ahead" for f in fr]
    every = [f for _, fr in parsed for f in fr]
    assert len(ahead) >= 30 - len(provisional_frames(n)) and ahead == sorted(ahead)
    assert sorted(every) == list(range(n)), "a frame parsed twice, or not at all"
    assert not reading.frames
    two = read_average(DUMP)
    two.reference
    b = EffectiveForceConstants(cutoff2=5.0, mode="simultaneous").fit(two)
    assert np.abs(a.fc2_ - b.fc2_).max() < 1e-12 * np.abs(b.fc2_).max()


def _fit_with_error_bars(traj):
    from trajmodes.workflows import fit_effective, frequency_error_bars
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit_effective(traj, cutoff2=5.0)
        return result, frequency_error_bars(result, traj, n_resamples=50)


@pytest.mark.parametrize("reference", ["average", "given"])
def test_the_error_models_frames_are_held_from_the_fits_pass(monkeypatch, reference):
    """The frames the error model projects on the fitted modes and fits its fourth order to (every frame of this
    200-frame run, and 125 of them) are read in the fit's pass and held, so the run is read once; the error bars are those of reading
    them again (where the frames are too big to hold: HOLD_BYTES; then the provisional reference's frames are not
    held either, and are parsed again in the fit's pass)."""
    from trajmodes import resources
    from trajmodes.lattice.structure import Structure

    def run():
        traj = read_average(DUMP)
        if reference == "given":
            traj = traj.with_reference(two_pass_average)
        return traj

    first = read_average(DUMP)
    two_pass_average = Structure(first.reference.positions, first.reference.cell, first.reference.species,
                                 first.reference.masses, first.reference.origin)
    one = run()
    frames = count_parsed_frames(one)
    held_result, held = _fit_with_error_bars(one)
    n = one.n_frames
    assert held_result.held is not None and held_result.held.n_frames == n
    assert sum(frames) == n, frames
    monkeypatch.setattr(resources, "HOLD_BYTES", 0)
    two = run()
    frames = count_parsed_frames(two)
    read_result, again = _fit_with_error_bars(two)
    assert read_result.held is None
    # read again for the projection on the fitted modes, and for the partition term's fourth order (this NVE run's
    # modes kept their energies), which takes at most ERROR_MODEL_ATOM_FRAMES atom-frames: 125 of these 200 frames
    # of 256 atoms (the evenly spaced selection may parse one frame more in its chunks)
    from trajmodes.series.errorbars import quartic_frames
    assert held.attrs["error_model"] == again.attrs["error_model"] == "partition"
    k = quartic_frames(one.n_atoms)
    assert k == 125
    # with a given reference, the frames whose mean sites show the crystal the run holds, read before the pass
    # (trajmodes.forceconstants.phase; not held for it here either)
    from trajmodes.forceconstants.phase import phase_frames
    before = len(provisional_frames(n)) if reference == "average" else phase_frames(n, one.n_atoms)
    assert 0 <= sum(frames) - (2 * n + k + before) <= 1, frames
    np.testing.assert_allclose(held.attrs["frozen_share"], again.attrs["frozen_share"], rtol=1e-10)
    np.testing.assert_allclose(held.frequency_err.values, again.frequency_err.values, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(held.frequency.values, again.frequency.values, rtol=1e-12, atol=1e-14)


def test_a_provisional_reference_too_noisy_for_the_symmetry_search_gives_way_to_a_denser_one(monkeypatch):
    """Where the symmetry search fails on the provisional reference (as on 4 frames of 108,000 atoms of Cu at
    600 K), the fit averages those frames and the frames halfway between them (at least DENSER_FRAMES) before it takes
    the run's average in a pass of its own: 200 frames parsed (the 10 + 9 of the two averages held for the fit's pass),
    not 200 + 10 + 200 + 200, and the constants of the two passes."""
    real, calls = EffectiveForceConstants._ideal, []

    def noisy_first(self, supercell, averaged=False):
        calls.append(supercell.n_atoms)
        if len(calls) == 1:
            raise ValueError("the reference crystal shows no lattice translations")
        return real(self, supercell, averaged)
    one = read_average(DUMP)
    frames = count_parsed_frames(one)
    monkeypatch.setattr(EffectiveForceConstants, "_ideal", noisy_first)
    a = EffectiveForceConstants(cutoff2=5.0, mode="simultaneous").fit(one)
    monkeypatch.undo()
    n = one.n_frames
    assert len(provisional_frames(n)) == 10 and len(provisional_frames(n, denser=True)) == 19
    assert set(provisional_frames(n)) <= set(provisional_frames(n, denser=True))
    assert len(calls) == 2 and sum(frames) == n, frames
    two = read_average(DUMP)
    two.reference
    b = EffectiveForceConstants(cutoff2=5.0, mode="simultaneous").fit(two)
    np.testing.assert_allclose(a.time_average_.positions, two.reference.positions, rtol=0, atol=1e-11)
    assert np.abs(a.fc2_ - b.fc2_).max() < 1e-12 * np.abs(b.fc2_).max()


def test_on_a_cluster_the_error_models_frames_come_back_with_the_fits_pass(monkeypatch):
    """On a ``dask.distributed`` cluster the error model's frames are results of the fit's pass gathered to this
    process, as on threads: held (not read again by a pass of their own) and projected here, with the error bars of
    reading them again on the cluster."""
    distributed = pytest.importorskip("distributed")
    from trajmodes import resources
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cl, \
            distributed.Client(cl):
        assert not resources.may_hold(1) and resources.may_hold(1, where="here")
        held_result, held = _fit_with_error_bars(read_average(DUMP))
        monkeypatch.setattr(resources, "HOLD_BYTES", 0)
        read_result, again = _fit_with_error_bars(read_average(DUMP))
    assert held_result.held is not None and held_result.held.n_frames == 200 and read_result.held is None
    assert held.attrs["error_model"] == again.attrs["error_model"] == "partition"
    np.testing.assert_allclose(held.frequency_err.values, again.frequency_err.values, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(held.frequency.values, again.frequency.values, rtol=1e-12, atol=1e-14)


def test_on_a_cluster_the_workers_parse_the_provisional_and_read_ahead_frames_once_for_the_pass(monkeypatch):
    """On a ``dask.distributed`` cluster, whose workers read the file, the provisional reference's frames are parsed
    there as the fit's pass reads them (the chunks of its read layer, kept on the workers), and while the fit searches
    the symmetry the workers parse the pass's first chunks: the pass's graph has the same task keys, so every frame is
    parsed once (before, the provisional frames' positions were parsed in this process and again by the workers),
    within the bytes the read-ahead may hold, let go after the pass, and the constants are those of threads."""
    import warnings

    import trajmodes
    from trajmodes import resources
    from trajmodes.forceconstants.normal import fit_layer
    from trajmodes.trajectory import Pass, chunks
    distributed = pytest.importorskip("distributed")

    def chunked():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return trajmodes.read(str(DUMP), reference="average", species=["Cu"], chunk_frames=10)
    b = EffectiveForceConstants(cutoff2=5.0, mode="simultaneous").fit(chunked())
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cl, \
            distributed.Client(cl):
        one = chunked()
        bounds = one.read_chunks()
        per_chunk = 10 * chunks.held_frame_bytes(one.source)
        frames = count_parsed_frames(one)
        layer = fit_layer(one)
        reading = Pass(one)
        reading.provisional_reference(layer=layer)
        prov = {i for i, c in enumerate(bounds) if set(c.tolist()) & set(provisional_frames(one.n_frames).tolist())}
        assert {i for _, i in reading.kept} == prov and sum(frames) == 10 * len(prov)
        # on 2 workers the read-ahead keeps a quarter of HOLD_BYTES per worker (with the provisional chunks): 2 more
        monkeypatch.setattr(resources, "HOLD_BYTES", int(2 * ((len(prov) + 2) * per_chunk + 3)))
        with reading.reading_ahead(layer):
            kept = {i for _, i in reading.kept}
        assert kept == prov | set([i for i in range(len(bounds)) if i not in prov][:2])
        monkeypatch.undo()
        a = EffectiveForceConstants(cutoff2=5.0, mode="simultaneous").fit(one, reading=reading)
        assert not reading.kept
    assert sorted(frames) == [10] * len(bounds), "a frame parsed twice"
    assert np.abs(a.fc2_ - b.fc2_).max() < 1e-12 * np.abs(b.fc2_).max()


def test_on_a_cluster_the_provisional_frames_kept_on_the_workers_stay_within_their_bytes(monkeypatch):
    """The frames of a provisional reference are kept on a cluster's workers for the fit's pass only within the bytes
    the workers hold for a pass (with 2 workers a quarter of HOLD_BYTES each: the denser average of 10^6 atoms at
    600 K kept 12 frames, 0.86 GB, beside the pass); the chunks beyond are parsed for their positions, let go, and
    parsed again by the pass. The reference, the constants, the average (and no provisional state kept after it:
    the frames it was averaged from) are those of threads."""
    import warnings

    import trajmodes
    from trajmodes import resources
    from trajmodes.forceconstants.normal import fit_layer
    from trajmodes.trajectory import Pass, chunks
    distributed = pytest.importorskip("distributed")

    def chunked():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return trajmodes.read(str(DUMP), reference="average", species=["Cu"], chunk_frames=10)
    here = chunked()
    expected = Pass(here).provisional_reference(layer=fit_layer(here)).positions
    b = EffectiveForceConstants(cutoff2=5.0, mode="simultaneous").fit(here)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cl, \
            distributed.Client(cl):
        one = chunked()
        per_chunk = 10 * chunks.held_frame_bytes(one.source)
        prov = {i for i, c in enumerate(one.read_chunks())
                if set(c.tolist()) & set(provisional_frames(one.n_frames).tolist())}
        assert len(prov) > 2
        monkeypatch.setattr(resources, "HOLD_BYTES", int(2 * (2 * per_chunk + 3)))      # two chunks on 2 workers
        frames = count_parsed_frames(one)
        reading = Pass(one)
        got = reading.provisional_reference(layer=fit_layer(one)).positions
        assert len(reading.kept) == 2 and sum(frames) == 10 * len(prov)
        np.testing.assert_array_equal(got, expected)
        a = EffectiveForceConstants(cutoff2=5.0, mode="simultaneous").fit(one, reading=reading)
        assert not reading.kept and reading._provisional is None
        # every frame once, and the provisional chunks that were not kept once more
        assert sum(frames) == one.n_frames + 10 * (len(prov) - 2)
    assert np.abs(a.fc2_ - b.fc2_).max() < 1e-12 * np.abs(b.fc2_).max()
    np.testing.assert_allclose(a.time_average_.positions, b.time_average_.positions, rtol=0, atol=1e-11)


def test_on_a_cluster_the_design_kernel_is_scattered_to_the_workers_not_sent_in_the_graph():
    """The fit's design kernel (52 MB at 10^6 atoms) is given to a cluster's workers once, scattered, not embedded in
    the pass's graph (which the scheduler held and Dask warned about: "Sending large graph of size 64.90 MiB")."""
    from trajmodes.forceconstants.normal import normal_equations
    distributed = pytest.importorskip("distributed")
    traj = read_average(DUMP)
    est = EffectiveForceConstants(cutoff2=5.0, mode="simultaneous").fit(traj)
    name = type(est.kernel_).__name__
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cl, \
            distributed.Client(cl) as client:
        lazy = normal_equations(traj, est.kernel_, compute=False)
        held = [str(k) for keys in client.has_what().values() for k in keys]
        assert any(k.startswith(name) for k in held), held
        normal = lazy.compute()
    here = normal_equations(traj, est.kernel_)
    np.testing.assert_allclose(normal.G, here.G, rtol=1e-12, atol=1e-12 * np.abs(here.G).max())
    np.testing.assert_allclose(normal.b, here.b, rtol=1e-12, atol=1e-12 * np.abs(here.b).max())
