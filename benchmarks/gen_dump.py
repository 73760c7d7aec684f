"""Generate large, realistic LAMMPS text dumps of a thermal fcc crystal, fast.

The dump looks like what LAMMPS writes with::

    dump 1 all custom 10 dump.lammpstrj id type xu yu zu vx vy vz fx fy fz
    dump_modify 1 format float %.10g sort id

an fcc copper supercell (``--cells`` n: 4 n^3 atoms) with Gaussian thermal
displacements (rms ~0.09 A per component at 300 K), Maxwell-Boltzmann
velocities (A/ps) and harmonic-like forces (eV/A) plus noise.

Formatting numbers with numpy is the slow part (~20 ms per 7000-atom frame), so
the atoms are split into ``--blocks`` row blocks and each block is formatted
``--variants`` times with independent noise, once.  Every frame is then a new
header (its own timestep) followed by, for each block, one randomly chosen
pre-formatted variant: ``variants ** blocks`` distinct frames from bytes
concatenation only, so writing runs at disk speed (5 GB in well under a minute
when the page cache absorbs it).

A small JSON sidecar (``<file>.gen.json``) records the parameters; a later call
with the same parameters reuses the file instead of writing it again.

Usage::

    python benchmarks/gen_dump.py benchmarks/data/fcc.dump --size-gb 1
    python benchmarks/gen_dump.py big.dump --size-gb 5 --cells 16 --order shuffled
    python benchmarks/gen_dump.py --prefix-of big.dump small.dump --size-gb 0.25
"""
from __future__ import annotations

import argparse
import io
import json
import os
import time

import numpy as np

#: LAMMPS' ``metal`` units: A, ps, eV, amu
A_CU = 3.615          # lattice parameter of Cu, A
M_CU = 63.546         # amu
KB = 8.617333262e-5   # eV/K
MVV2E = 1.0364269e-4  # amu A^2/ps^2 -> eV
K_SPRING = 3.0        # eV/A^2, Einstein-like force constant of Cu (~7 THz)

COLUMNS = "id type xu yu zu vx vy vz fx fy fz"
GIB = 1 << 30


def fcc_positions(cells: int, a: float = A_CU) -> np.ndarray:
    """Cartesian positions (4 n^3, 3) of an n x n x n conventional fcc supercell, atoms in LAMMPS order."""
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    g = np.arange(cells)
    cell_origins = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    return ((cell_origins[:, None, :] + basis[None]).reshape(-1, 3) * a).astype(float)


def _header(step: int, natoms: int, box: float) -> bytes:
    lo, hi = "%-1.16e" % 0.0, "%-1.16e" % box
    return (f"ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n{natoms}\n"
            f"ITEM: BOX BOUNDS pp pp pp\n{lo} {hi}\n{lo} {hi}\n{lo} {hi}\n"
            f"ITEM: ATOMS {COLUMNS}\n").encode()


def _format_rows(ids: np.ndarray, data: np.ndarray, precision: int) -> bytes:
    """Rows 'id type x y z vx vy vz fx fy fz' with LAMMPS-like %.<precision>g floats."""
    buf = io.BytesIO()
    table = np.column_stack([ids, np.ones(len(ids)), data])
    np.savetxt(buf, table, fmt="%d %d" + f" %.{precision}g" * 9)
    return buf.getvalue()


def make_blocks(cells: int, *, temperature: float = 300.0, variants: int = 16, blocks: int = 8,
                precision: int = 10, order: str = "sorted", seed: int = 0):
    """Pre-formatted row blocks: ``out[b][k]`` is block b of the atoms with noise variant k.

    Returns (blocks, n_atoms, box length in A).
    """
    rng = np.random.default_rng(seed)
    r0 = fcc_positions(cells)
    n = len(r0)
    box = cells * A_CU
    ids = np.arange(1, n + 1)
    if order == "shuffled":  # LAMMPS on several MPI ranks without dump_modify sort: a fixed scrambled order
        perm = rng.permutation(n)
    else:
        perm = np.arange(n)
    sigma_u = np.sqrt(KB * temperature / K_SPRING)          # equipartition: <u^2> = kT / k
    sigma_v = np.sqrt(KB * temperature / (M_CU * MVV2E))    # A/ps
    edges = np.linspace(0, n, blocks + 1).astype(int)
    out = []
    for b in range(blocks):
        sel = perm[edges[b]:edges[b + 1]]
        row = []
        for _ in range(variants):
            u = rng.normal(0.0, sigma_u, (len(sel), 3))
            v = rng.normal(0.0, sigma_v, (len(sel), 3))
            f = -K_SPRING * u + rng.normal(0.0, 0.1, (len(sel), 3))
            row.append(_format_rows(ids[sel], np.hstack([r0[sel] + u, v, f]), precision))
        out.append(row)
    return out, n, box


def generate(path: str, size_gb: float, *, cells: int = 12, temperature: float = 300.0, variants: int = 16,
             blocks: int = 8, precision: int = 10, order: str = "sorted", every: int = 10, seed: int = 0,
             force: bool = False, quiet: bool = False) -> dict:
    """Write a dump of at least ``size_gb`` GiB (2^30 bytes) at ``path`` (whole frames); return its metadata."""
    params = dict(size_gb=size_gb, cells=cells, temperature=temperature, variants=variants, blocks=blocks,
                  precision=precision, order=order, every=every, seed=seed, columns=COLUMNS)
    meta_path = path + ".gen.json"
    if not force and os.path.exists(path) and os.path.exists(meta_path):
        with open(meta_path) as fh:
            meta = json.load(fh)
        if meta.get("params") == params and meta.get("bytes") == os.path.getsize(path):
            if not quiet:
                print(f"reusing {path} ({meta['bytes'] / 1e9:.2f} GB, {meta['n_frames']} frames)")
            return meta
    t0 = time.perf_counter()
    blk, natoms, box = make_blocks(cells, temperature=temperature, variants=variants, blocks=blocks,
                                   precision=precision, order=order, seed=seed)
    t_fmt = time.perf_counter() - t0
    rng = np.random.default_rng(seed + 1)
    target = int(size_gb * GIB)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".part"
    written, frame = 0, 0
    pending, pending_bytes = [], 0
    with open(tmp, "wb", buffering=0) as fh:
        while written + pending_bytes < target:
            choice = rng.integers(0, variants, blocks)
            parts = [_header(frame * every, natoms, box)] + [blk[b][choice[b]] for b in range(blocks)]
            pending += parts
            pending_bytes += sum(len(p) for p in parts)
            frame += 1
            if pending_bytes >= 64 << 20:
                fh.write(b"".join(pending))
                written += pending_bytes
                pending, pending_bytes = [], 0
        if pending:
            fh.write(b"".join(pending))
            written += pending_bytes
    os.replace(tmp, path)
    dt = time.perf_counter() - t0
    meta = dict(path=path, params=params, bytes=written, n_frames=frame, n_atoms=natoms,
                bytes_per_frame=written / frame, seconds=dt, seconds_formatting=t_fmt)
    with open(meta_path, "w") as fh:
        json.dump(meta, fh, indent=1)
    if not quiet:
        print(f"wrote {path}: {written / 1e9:.2f} GB, {frame} frames x {natoms} atoms in {dt:.1f} s "
              f"({written / 1e6 / dt:.0f} MB/s; formatting {t_fmt:.1f} s)")
    return meta


def write_prefix(src: str, dst: str, min_bytes: int) -> dict:
    """Copy the first whole frames of the dump ``src`` (at least ``min_bytes`` bytes) into ``dst``."""
    key = b"\nITEM: TIMESTEP"
    with open(src, "rb") as fin:
        buf = fin.read(min_bytes + (16 << 20))
        while True:
            j = buf.find(key, max(min_bytes - 1, 0))
            more = fin.read(16 << 20) if j < 0 else b""
            if not more:
                break
            buf += more
    cut = j + 1 if j >= 0 else len(buf)
    with open(dst + ".part", "wb") as fout:
        fout.write(memoryview(buf)[:cut])
    os.replace(dst + ".part", dst)
    return dict(path=dst, bytes=cut, n_frames=buf.count(b"ITEM: TIMESTEP", 0, cut), source=src)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("path", nargs="?", help="output dump file")
    p.add_argument("--size-gb", type=float, default=1.0, help="size in GiB (2^30 bytes), whole frames (default 1)")
    p.add_argument("--cells", type=int, default=12, help="n: n x n x n fcc cells, 4 n^3 atoms (default 12: 6912)")
    p.add_argument("--temperature", type=float, default=300.0, help="K (sets the noise amplitudes)")
    p.add_argument("--variants", type=int, default=16, help="noise variants per row block (default 16)")
    p.add_argument("--blocks", type=int, default=8, help="row blocks per frame (default 8)")
    p.add_argument("--precision", type=int, default=10, help="significant digits, as format float %%.<p>g")
    p.add_argument("--order", choices=("sorted", "shuffled"), default="sorted",
                   help="atom rows in id order (dump_modify sort id) or a fixed scrambled order (MPI, no sort)")
    p.add_argument("--every", type=int, default=10, help="MD steps between frames")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="rewrite even if an identical file exists")
    p.add_argument("--prefix-of", metavar="SRC", help="instead: copy the first frames of SRC (>= --size-gb GiB)")
    a = p.parse_args(argv)
    if not a.path:
        p.error("give the output path")
    if a.prefix_of:
        info = write_prefix(a.prefix_of, a.path, int(a.size_gb * GIB))
        print(f"wrote {a.path}: {info['bytes'] / 1e6:.0f} MB, {info['n_frames']} frames of {a.prefix_of}")
        return
    generate(a.path, a.size_gb, cells=a.cells, temperature=a.temperature, variants=a.variants, blocks=a.blocks,
             precision=a.precision, order=a.order, every=a.every, seed=a.seed, force=a.force)


if __name__ == "__main__":
    main()
