"""Speed reference: dynasor's mode projector on the 256-atom fcc Cu trajectory, all commensurate q.

trajmodes' projection of all modes at all commensurate q of a 256-atom fcc supercell
must run at least 20x faster than dynasor's mode projector ("about 130 frames/s here").  This
script measures dynasor's side, in two ways:

``project_modes``  (end to end) ``dynasor.project_modes(Trajectory(dump.gz), modes, ideal)``
                   with ``modes = ModeProjector._X`` (all q commensurate with the MD cell x all
                   branches, shape (n_q, n_branch, N, 3)): dynasor's own LAMMPS reader (gz),
                   minimum-image displacements, Q and P for every frame.  This is the throughput
                   to quote against an end-to-end ``trajmodes.project`` from the same file.
``ModeProjector``  (in memory) per frame ``mp.set_u(u); mp.set_v(v)`` on arrays already in RAM,
                   i.e. the projector alone, without I/O.  Fair against a projection timed on
                   an in-memory trajectory.

The ModeProjector is built from the primitive cell, the ideal MD supercell (MD atom order) and
force constants of that supercell transferred from examples/fc/cu_eam by phonopy's Fourier
interpolation (shared helper in ``dynaphopy_reference.py``).  Construction time (dynamical
matrices at all 64 q + the (n_q, n_b, N, 3) projector) is reported separately.

Usage: ``python benchmarks/dynasor_reference.py [--system cu] [--repeat 3] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dynaphopy_reference import FCC_PRIM, REPO, SYSTEMS, load_system, md_supercell_phonopy  # noqa: E402


def dynasor_compatible_dump(path, tmpdir=None):
    """Copy of a dump without the ``ITEM: UNITS`` / ``ITEM: TIME`` blocks (gzip kept).

    Our dumps use ``dump_modify units yes time yes``; dynasor 2.5's ``lammps_internal`` reader
    raises ``TRJ_reader: Failed to parse TRJ frame header`` on those items and its
    ``lammps_mdanalysis`` path fails in MDAnalysis' topology parser ("No id column found").
    The frames are otherwise untouched.
    """
    import gzip
    import tempfile
    tmpdir = Path(tmpdir or tempfile.gettempdir())
    out = tmpdir / ("dynasor_" + Path(path).name)
    if out.exists() and out.stat().st_mtime >= Path(path).stat().st_mtime:
        return out
    with gzip.open(path, "rt") as f:
        lines = f.read().splitlines(keepends=True)
    keep, i = [], 0
    while i < len(lines):
        if lines[i].startswith("ITEM: UNITS") or (lines[i].startswith("ITEM: TIME")
                                                 and not lines[i].startswith("ITEM: TIMESTEP")):
            i += 2
            continue
        keep.append(lines[i])
        i += 1
    with gzip.open(out, "wt", compresslevel=6) as f:
        f.writelines(keep)
    return out


def build_mode_projector(sysd):
    """(dynasor.ModeProjector, ideal supercell ase.Atoms in MD order, seconds to build)."""
    from ase import Atoms
    from dynasor import ModeProjector

    spec = sysd["spec"]
    ph = md_supercell_phonopy(sysd)
    mass = float(ph.primitive.masses[0])
    sc_pos = ph.supercell.positions                     # phonopy supercell order, MD lattice
    md_pos = sysd["ref_pos"]
    L = np.diag(sysd["md_cell"])
    d = md_pos[:, None, :] - sc_pos[None, :, :]
    d -= np.round(d / L) * L
    dist = np.linalg.norm(d, axis=2)
    idx = np.argmin(dist, axis=1)                       # MD atom i <-> phonopy atom idx[i]
    assert np.allclose(dist[np.arange(len(idx)), idx], 0, atol=1e-4) and len(set(idx)) == len(idx)
    fc = ph.force_constants[np.ix_(idx, idx)]           # (N, N, 3, 3) in MD order

    prim_cell = (sysd["conv_cell"].T @ FCC_PRIM).T
    prim = Atoms(symbols=[spec["element"]] * len(ph.primitive), cell=prim_cell,
                 scaled_positions=ph.primitive.scaled_positions, pbc=True,
                 masses=list(ph.primitive.masses))
    ideal = Atoms(symbols=[spec["element"]] * len(md_pos), positions=md_pos, cell=sysd["md_cell"],
                  pbc=True, masses=[mass] * len(md_pos))
    t0 = time.perf_counter()
    mp = ModeProjector(prim, ideal, fc)
    return mp, ideal, time.perf_counter() - t0


def run_dynasor(system="cu", repeat=3, verbose=False, interleave=None):
    """dynasor's times (best of ``repeat``). ``interleave(kind)``, when given, is called right after each of
    dynasor's rounds of ``kind`` ("file": project_modes from the .gz, "memory": the ModeProjector) and returns the
    other code's seconds for the same work; the pairs are kept under ``rounds`` (same machine phase: a per-round
    ratio does not move with the machine's speed)."""
    import dynasor
    from dynasor import Trajectory, project_modes
    import logging
    if not verbose:
        logging.getLogger("dynasor").setLevel(logging.WARNING)

    sysd = load_system(system)
    spec = sysd["spec"]
    mp, ideal, t_build = build_mode_projector(sysd)
    X = mp._X                                             # (n_q, n_branch, N, 3), complex
    n_q, n_b = X.shape[:2]
    dump = dynasor_compatible_dump(REPO / "examples" / "md" / f"{spec['run']}.lammpstrj.gz")
    n_frames = len(sysd["times"])

    # harmonic frequencies (THz) dynasor derived, as a sanity check of the fc transfer
    w2 = mp._w2  # dynasor internal units
    from dynasor.units import radians_per_fs_to_THz
    freqs = np.sign(w2) * np.sqrt(np.abs(w2)) * radians_per_fs_to_THz

    rounds = {"file": [], "memory": []}
    e2e = []
    for _ in range(repeat):
        traj = Trajectory(str(dump), trajectory_format="lammps_internal", length_unit="Angstrom",
                          time_unit="ps")
        t0 = time.perf_counter()
        Q, P = project_modes(traj, X, ideal, check_mic=True, logging_interval=0)
        e2e.append(time.perf_counter() - t0)
        if interleave is not None:
            rounds["file"].append((e2e[-1], interleave("file")))
    assert Q.shape == (n_frames, n_q, n_b), Q.shape

    # in memory: projector only
    u_all = sysd["x"] - sysd["ref_pos"][None]
    L = np.diag(sysd["md_cell"])
    u_all -= np.round(u_all / L) * L
    v_all = sysd["v"]
    mem = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for u, v in zip(u_all, v_all):
            mp.set_u(u)
            mp.set_v(v)
            mp.get_Q(); mp.get_P()
        mem.append(time.perf_counter() - t0)
        if interleave is not None:
            rounds["memory"].append((mem[-1], interleave("memory")))

    best_e2e, best_mem = min(e2e), min(mem)
    return dict(
        system=system, run=spec["run"], atoms=int(ideal.get_global_number_of_atoms()),
        frames=n_frames, n_qpoints=int(n_q), n_branches=int(n_b), modes=int(n_q * n_b),
        build_seconds=t_build,
        project_modes_seconds=best_e2e, project_modes_frames_per_s=n_frames / best_e2e,
        mode_projector_seconds=best_mem, mode_projector_frames_per_s=n_frames / best_mem,
        all_project_modes_seconds=e2e, all_mode_projector_seconds=mem,
        harmonic_THz_min_max=[float(np.nanmin(freqs)), float(np.nanmax(freqs))],
        dynasor_version=getattr(dynasor, "__version__", "?"),
        threads=os.environ.get("OMP_NUM_THREADS", "unset"),
        rounds=rounds if interleave is not None else None,
    )


def format_result(r):
    return (f"dynasor {r['dynasor_version']} mode projection, {r['run']} ({r['atoms']} atoms, "
            f"{r['frames']} frames, {r['n_qpoints']} q x {r['n_branches']} branches = {r['modes']} modes)\n"
            f"  ModeProjector build        {r['build_seconds']:.3f} s\n"
            f"  project_modes (gz -> Q,P)  {r['project_modes_seconds']:.3f} s = "
            f"{r['project_modes_frames_per_s']:.1f} frames/s\n"
            f"  ModeProjector.set_u/set_v  {r['mode_projector_seconds']:.3f} s = "
            f"{r['mode_projector_frames_per_s']:.1f} frames/s (in memory)\n"
            f"  harmonic range {r['harmonic_THz_min_max'][0]:.3f} .. {r['harmonic_THz_min_max'][1]:.3f} THz")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--system", choices=list(SYSTEMS), default="cu")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json")
    p.add_argument("--verbose", action="store_true")
    a = p.parse_args(argv)
    r = run_dynasor(a.system, repeat=a.repeat, verbose=a.verbose)
    print(format_result(r))
    if a.json:
        Path(a.json).write_text(json.dumps(r, indent=1))
    return r


if __name__ == "__main__":
    main()
