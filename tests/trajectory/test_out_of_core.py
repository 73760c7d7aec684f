"""Out of core: reading a netCDF cache reads each byte about once (read amplification), in chunks laid out by bytes,
and the memory of ``info``'s pass does not grow with the frames.

Bytes read and peak memory are measured in a fresh Python process: ``rchar`` of /proc/self/io (every byte read()
or pread() returned, from the page cache or not) and ``VmHWM`` of /proc/self/status.
"""
import json
import os
import subprocess
import sys
import textwrap

import netCDF4
import numpy as np
import pytest

import trajmodes
from trajmodes.io.trajectories.netcdf import cache_chunks

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/io"), reason="needs Linux' /proc/self/io")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CELLS = 13                       # 4 x 13^3 = 8788 atoms
FRAMES = 200


def fcc_frames(cells: int, frames: int, seed: int = 0):
    """Thermal-looking fcc Cu frames: (frames, atoms, 3) positions A, the cell, the displacements' rms 0.05 A."""
    a = 3.615
    base = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]])
    grid = np.stack(np.meshgrid(*[np.arange(cells)] * 3, indexing="ij"), -1).reshape(-1, 1, 3)
    r0 = (grid + base[None]).reshape(-1, 3) * a
    rng = np.random.default_rng(seed)
    return r0[None] + 0.05 * rng.standard_normal((frames,) + r0.shape), np.eye(3) * cells * a


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A cache of 8788 atoms x 200 frames with positions, velocities and forces (46 MB each)."""
    pos, cell = fcc_frames(CELLS, FRAMES)
    # velocities of the springs' crystal (k = 1 eV/A^2 for Cu's 63.546 amu: sqrt(k/m) = 12.3 /ps), so that their
    # kinetic temperature is the configurational one of the displacements and forces, which the summary checks
    vel = np.ascontiguousarray(pos[::-1] - pos.mean(axis=0)) * (np.sqrt(1 / 63.546) / 0.0101805)
    frc = -(pos - pos.mean(axis=0))
    traj = trajmodes.from_arrays(pos, cell, ["Cu"] * pos.shape[1], frame_interval=0.01, velocities=vel, forces=frc,
                                 reference="first")
    path = tmp_path_factory.mktemp("ooc") / "cu.nc"
    traj.to_netcdf(path)
    return str(path)


def measure(script: str, path: str) -> dict:
    """Run ``script`` (``t`` is the cache read; it sets ``need``, the bytes of the cache's data it reads) twice in a
    fresh process: the bytes the second run read (the first also reads the files of the modules its pass imports,
    which count in rchar), its read amplification, and the process' peak memory, with glibc's allocator set as the
    program ``trajmodes`` sets it (``resources.return_freed_memory``: freed arrays go back to the system, two pools,
    so that the peak follows the live arrays, not which thread's pool kept what)."""
    head = textwrap.dedent("""
        import json, sys
        import trajmodes
        from trajmodes.resources import return_freed_memory
        return_freed_memory()
        def rchar():
            return int(dict(l.split(": ") for l in open("/proc/self/io").read().splitlines())["rchar"])
        for _ in range(2):
            t = trajmodes.read(sys.argv[1])
            r0 = rchar()
    """)
    tail = textwrap.dedent("""
        hwm = int([l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]) * 1024
        print(json.dumps({"read": read, "need": need, "amplification": read / need, "peak": hwm}))
    """)
    code = head + textwrap.indent(textwrap.dedent(script).strip() + "\nread = rchar() - r0", "    ") + tail
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_layout_is_chosen_by_bytes_on_both_axes(cache):
    """Chunks of a few MB, a row of them (the chunk's frames of all atoms) about 16 MB, stated in the attributes;
    10^6 atoms get a frame per row, a small cell many frames."""
    with netCDF4.Dataset(cache) as ds:
        chunking = ds.variables["positions"].chunking()
        assert ds.trajmodes_format_version == 3
        assert [ds.chunk_frames, ds.chunk_atoms, 3] == chunking
        assert "frames x" in ds.chunk_layout
    n_atoms = 4 * CELLS ** 3
    assert chunking == list(cache_chunks(FRAMES, n_atoms))
    cf, ca, _ = chunking
    assert 1 << 20 <= cf * ca * 24 <= 16 << 20 and n_atoms % ca < 4  # even split
    assert 8 << 20 <= cf * n_atoms * 24 <= 16 << 20
    assert cache_chunks(1000, 10 ** 6)[:2] == (1, 166667)          # 24 MB a frame: one frame per row, 4 MB chunks
    assert cache_chunks(1000, 256) == (256, 256, 3)                 # small: 256 frames of all atoms
    assert cache_chunks(7, 256) == (7, 256, 3)


def test_tasks_read_whole_chunks_of_their_own(cache):
    """The read tasks' frame ranges are aligned to the cache's chunk frames (a selection too), within the chunk size
    asked for."""
    t = trajmodes.read(cache, chunk_frames=100)
    cf = t.source.frame_block
    assert cf == cache_chunks(FRAMES, t.n_atoms)[0] and cf < 100
    for sel in (t, t[5:], t[::3]):
        chunks = sel.read_chunks()
        assert np.array_equal(np.concatenate(chunks), sel._frames)
        for c in chunks:
            assert len(c) <= 100 and c[0] // (100 // cf * cf) == c[-1] // (100 // cf * cf)
    default = trajmodes.read(cache)
    assert default.chunk_frames % cf == 0


def test_displacements_read_the_cache_once(cache):
    """Summing the displacements reads the positions about once (<= 1.2x), not whole chunks for every few frames
    nor the file's first 4 MiB on every task's open (35-139x before)."""
    r = measure("""
        t.displacements().sum().compute()
        need = t.n_frames * t.n_atoms * 24
    """, cache)
    assert r["amplification"] <= 1.2, r


def test_fit_accumulation_reads_the_cache_once(cache):
    """The fit's pass (displacements and forces through its read layer, accumulated) reads them about once, also
    for a selection of frames."""
    r = measure("""
        from trajmodes.forceconstants.normal import fit_layer
        t = t[10:170]
        lean = fit_layer(t, temperature=False)
        u = t.displacements(layer=lean)
        (u * t.field("forces", lean)).sum().compute()
        need = 2 * t.n_frames * t.n_atoms * 24
    """, cache)
    assert r["amplification"] <= 1.2, r


@pytest.mark.parametrize("chunk", [None, 16])
def test_old_layout_reads_once(tmp_path, monkeypatch, chunk):
    """A version 2 cache (chunks of 256 frames x 512 atoms) reads the same values, and tasks of a few frames read
    only their bytes (no chunk cache for its partial chunks; 16 frames x 512 atoms is 196 kB a read, over HDF5's
    64 kB sieve buffer, which smaller reads fill whole)."""
    from trajmodes.io.trajectories import netcdf
    pos, cell = fcc_frames(8, 60)
    traj = trajmodes.from_arrays(pos, cell, ["Cu"] * pos.shape[1], frame_interval=0.01, reference="first")
    path = str(tmp_path / "v2.nc")
    monkeypatch.setattr(netcdf, "cache_chunks", lambda nf, na: (min(256, nf), min(512, na), 3))
    traj.to_netcdf(path)
    monkeypatch.undo()
    with netCDF4.Dataset(path, "a") as ds:
        ds.trajmodes_format_version = 2
        assert ds.variables["positions"].chunking() == [60, 512, 3]
    back = trajmodes.read(path, chunk_frames=chunk)
    assert np.array_equal(back.positions.compute(), pos)
    r = measure(f"""
        t = t.rechunk({chunk}) if {chunk} else t
        t.displacements().sum().compute()
        need = t.n_frames * t.n_atoms * 24
    """, path)
    assert r["amplification"] <= 1.2, r


@pytest.mark.slow
def test_info_memory_flat_in_frames(cache):
    """``info``'s one pass (summarize) holds a few chunks whatever the number of frames: four times the frames (20
    chunks of 10 frames instead of 5) add less than 0.12 of the data added to the peak memory (the lowest of five
    runs each, with the program's allocator settings: the peak of threads varies by a few MB; measured +4 to +6 MB
    of the 63 MB added, 0.07-0.095 of it (+4.2 MB on 2026-11-29 beside seven other test runs); before, +8.9 MB,
    0.14: the bound sits between the two, where a tenth left 0.3 MB above the largest measured). Slow: ten fresh
    processes, 25 s on two cores."""
    script = """
        from trajmodes.trajectory.summary import summarize
        t = t[:{n}].rechunk(10)
        summarize(t)
        need = t.n_frames * t.n_atoms * 72      # positions, velocities and forces (the configurational temperature)
    """
    short = min((measure(script.format(n=FRAMES // 4), cache) for _ in range(5)), key=lambda r: r["peak"])
    whole = min((measure(script.format(n=FRAMES), cache) for _ in range(5)), key=lambda r: r["peak"])
    added = (FRAMES - FRAMES // 4) * 4 * CELLS ** 3 * 48          # positions and velocities of the frames added
    print(f"\npeak: {short['peak'] / 1e6:.1f} MB ({FRAMES // 4} frames), {whole['peak'] / 1e6:.1f} MB ({FRAMES}); "
          f"the frames added hold {added / 1e6:.1f} MB")
    assert whole["peak"] - short["peak"] < 0.12 * added, (short, whole)
    assert whole["amplification"] <= 1.2, whole


def test_info_parses_a_dump_once_with_the_time_average(tmp_path):
    """``info`` of a dump whose reference is the run's time average: one parse (the displacements from the first
    frame go to a float32 scratch file while the average and the per-frame quantities are summed; the displacements
    from the average are measured in a read of it) reads the dump about once, where the average's own pass made it
    twice; the summary equals the one with the average given beforehand (to float32's rounding of displacements of
    about 0.1 A: 1e-8 A, where the dump prints 1e-6 A), and the scratch file is gone."""
    from tests.support.dumps import small_dump
    dump, _ = small_dump(tmp_path / "run.lammpstrj", n_frames=60, n_atoms=3000, seed=3)
    script = """
        import os, tempfile
        from trajmodes.trajectory.summary import summarize
        t = trajmodes.read(sys.argv[1], reference="average")
        summarize(t, scratch=os.path.dirname(sys.argv[1]))
        need = os.path.getsize(sys.argv[1])
    """
    r = measure(script, str(dump))
    scratch = 12 * 3000 * 60                    # the scratch file's displacements, float32
    first = r["need"] / 60                      # the first frame, read on its own (the displacements' origin)
    assert r["read"] <= 1.05 * r["need"] + first + scratch, r
    assert r["read"] < 1.5 * r["need"], r       # the average's own pass read the dump twice
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".trajmodes-summary-")]
    from trajmodes.trajectory.summary import summarize
    from tests.support.dumps import read_quiet
    one = summarize(read_quiet(str(dump), reference="average"), scratch=str(tmp_path))
    given = read_quiet(str(dump), reference="average")
    given.reference                                                   # the average, by its own pass
    two = summarize(given)
    for name in two.data_vars:
        np.testing.assert_allclose(one[name].values, two[name].values, rtol=1e-6, atol=1e-8, err_msg=name)


def test_info_one_parse_in_a_cell_that_breathes(tmp_path):
    """In NPT the displacements from the time average are those from the first frame, less their mean, mapped from
    the first frame's cell onto the mean cell: the one-parse summary equals the two-pass one when the cell changes by
    a few percent from frame to frame (a uniformly strained crystal moves no atom from its site)."""
    from tests.support.dumps import write_frames
    from trajmodes.trajectory.reading import read
    from trajmodes.trajectory.summary import summarize
    rng = np.random.default_rng(5)
    n_frames, n_atoms = 12, 40
    cell = np.diag([9.0, 9.5, 10.0])
    frac = rng.random((n_atoms, 3))
    strain = 1 + rng.normal(0, 0.02, (n_frames, 3))
    cells = np.array([cell * s for s in strain])
    origins = rng.normal(0, 0.05, (n_frames, 3))
    pos = origins[:, None, :] + np.einsum("ia,tab->tib", frac, cells) + rng.normal(0, 0.08, (n_frames, n_atoms, 3))

    class Frames:
        pass
    fr = Frames()
    fr.cells, fr.origins = cells, origins
    path = write_frames(tmp_path / "npt.lammpstrj", fr, pos, velocities=rng.normal(0, 1, pos.shape))
    one_parse = read(str(path), species=["Cu"], md_timestep=0.001, reference="average")
    one = summarize(one_parse, scratch=str(tmp_path))
    given = read(str(path), species=["Cu"], md_timestep=0.001, reference="average")
    given.reference                                                   # the average, by its own pass
    two = summarize(given)
    assert float(two["rms_displacement"].max()) > 0.1
    np.testing.assert_allclose(one_parse.reference.positions, given.reference.positions, rtol=0, atol=1e-12)
    for name in two.data_vars:
        np.testing.assert_allclose(one[name].values, two[name].values, rtol=1e-6, atol=1e-8, err_msg=name)


def test_frames_held_from_a_pass_are_the_frames_read(tmp_path):
    """Frames held in memory from another computation's pass (``HeldFrames`` joined to it, then ``held``): the
    frames computed in that pass (the temperature's: no frame parsed twice) are the same positions, velocities, cells, origins and times as reading those frames, and the same displacements
    from the same reference; a box whose origin is not zero keeps it."""
    from tests.support.dumps import count_parsed_frames, write_frames
    from trajmodes.trajectory.passes import HeldFrames, Pass
    from trajmodes.trajectory.reading import read
    rng = np.random.default_rng(3)
    n_frames, n_atoms = 6, 8
    cell = np.diag([7.0, 7.5, 8.0])
    sites = rng.random((n_atoms, 3)) @ cell
    origins = np.array([-3.0, 1.5, 2.0]) + rng.normal(0, 0.01, (n_frames, 3))
    cells = np.repeat(cell[None], n_frames, axis=0) * (1 + rng.normal(0, 0.002, (n_frames, 1, 1)))
    pos = origins[:, None, :] + sites + rng.normal(0, 0.05, (n_frames, n_atoms, 3))
    vel = rng.normal(0, 1, pos.shape)

    class Frames:
        pass
    fr = Frames()
    fr.cells, fr.origins = cells, origins
    path = write_frames(tmp_path / "run.lammpstrj", fr, pos, velocities=vel)
    traj = read(str(path), species=["Cu"], md_timestep=0.001, reference="average")
    pick = np.array([1, 3, 4])
    layer = ("positions", "velocities")
    parsed = count_parsed_frames(traj)
    reading = Pass(traj)
    frames = reading.add(HeldFrames(traj, pick))
    T = reading.compute(traj.temperature(layer), layer)
    assert sorted(parsed) == [n_frames] and len(T) == n_frames, parsed
    held = traj.held(pick, frames.value)
    part = traj[pick]
    assert held.n_frames == 3 and held.reference is traj.reference
    np.testing.assert_array_equal(held.times, part.times)
    a, b = held.read(), part.read()
    for name in ("positions", "velocities", "cells", "origins"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_allclose(held.displacements().compute(), part.displacements().compute(), rtol=0, atol=1e-12)


def test_frame_sum_adds_the_chunks_without_touching_them():
    """The sum over the frames of chunks of one and of several frames, a tree of in-place adds: numpy's sum, and the
    chunks (persisted: the adds see them as they are) unchanged."""
    import dask.array as da

    from trajmodes.trajectory.chunks import frame_sum
    rng = np.random.default_rng(3)
    x = rng.standard_normal((23, 50, 3))
    for chunks in ((1,) * 23, (5, 1, 7, 1, 9), (23,)):
        lazy = da.from_array(x, chunks=(chunks, 25, 3)).persist()
        before = lazy.compute()
        np.testing.assert_allclose(frame_sum(lazy).compute(), x.sum(axis=0), rtol=1e-13, atol=1e-13)
        assert np.array_equal(lazy.compute(), before)


def test_the_lattice_cell_of_a_pending_average_parses_no_frame(tmp_path):
    """Work that needs only the cell (the q a projection may take, the fit's default cutoff) takes it from the frames'
    headers while the time average is pending: no frame parsed, the cell of the average taken later."""
    from tests.conftest import EXAMPLES
    from tests.support.dumps import count_parsed_frames, read_average
    traj = read_average(str(EXAMPLES / "cu_fcc_300K.lammpstrj.gz"))
    frames = count_parsed_frames(traj)
    cell = traj.lattice_cell
    assert sum(frames) == 0 and not traj.reference_known
    np.testing.assert_allclose(cell, traj.reference.cell, rtol=0, atol=1e-12)
    assert traj.lattice_cell is traj.reference.cell
