"""Exact harmonic trajectories of fcc Cu written as LAMMPS dumps, fast, for the projection memory benchmark.

A chosen set of normal modes (q, s) of the Cu EAM force constants (``examples/fc/cu_eam``) is excited
with amplitude A each; every other mode is at rest.  With the projection convention of
:mod:`trajmodes.modes.projection` the displacement of atom j is the exact solution of the harmonic equations
of motion::

    u_j(t) = 2 Re[ A e^{i phi} e^{-i w t} e(q,s,k_j) e^{i 2 pi q.r0_j} ] / sqrt(N_c m_j)

so the projected mode amplitude is Q(q,s,t) = A e^{i phi - i w t} (|Q| = A at all times, exact frequency)
and every mode not excited (other than the partners at -q) projects to zero.  The dump is written
``id type xu yu zu vx vy vz`` with 6 decimals by a vectorised fixed-point formatter (hundreds of MB/s,
where numpy's savetxt manages a few), frame by frame, so the file may be far larger than memory.

Usage::

    python benchmarks/harmonic_dump.py out.lammpstrj --cells 30 --frames 48      # 108,000 atoms
    python benchmarks/harmonic_dump.py big.lammpstrj --cells 4 --size-gb 30      # > RAM, 256 atoms
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FC_DIR = ROOT / "examples" / "fc" / "cu_eam"
FCC_BASIS = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
WIDTH = 14           # one column: two spaces, sign and 4 integer digits (right-aligned), '.', 6 decimals
DECIMALS = 6


# lookup tables as uint16 words (two characters each): "00".."99", and the integer part with its
# sign and the decimal point, "    0." .. "-9999." (right-aligned, 6 characters)
_PAIRS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), dtype=np.uint16)
_INTS = np.frombuffer("".join(f"{sign}{i}".rjust(5) + "." for sign in ("", "-") for i in range(10000)).encode(),
                      dtype=np.uint16).reshape(20000, 3)
_BLANK = np.frombuffer(b"  ", dtype=np.uint16)[0]


def format_columns(values: np.ndarray) -> np.ndarray:
    """Fixed-point text of ``values`` (..., c) as uint8 (..., c * WIDTH): '%14.6f' per value, vectorised.

    Two-character lookup tables written as uint16 words keep it to about ten array passes.  |x| < 1e4.
    """
    x = np.asarray(values, float)
    if np.abs(x).max(initial=0) >= 1e4:
        raise ValueError("value too large for the fixed-point format")
    s = np.rint(np.abs(x) * 10 ** DECIMALS).astype(np.int64)
    ip, fp = np.divmod(s, 10 ** DECIMALS)
    ip += 10000 * ((x < 0) & (s > 0))                         # the negative half of the table
    out = np.empty(x.shape + (WIDTH // 2,), dtype=np.uint16)
    out[..., 0] = _BLANK
    out[..., 1:4] = np.take(_INTS, ip, axis=0)
    hi, lo = np.divmod(fp, 10000)
    mid, lo = np.divmod(lo, 100)
    out[..., 4] = np.take(_PAIRS, hi)
    out[..., 5] = np.take(_PAIRS, mid)
    out[..., 6] = np.take(_PAIRS, lo)
    return out.view(np.uint8).reshape(x.shape[:-1] + (x.shape[-1] * WIDTH,))


class HarmonicCu:
    """Selected normal modes of fcc Cu (EAM force constants) in an n x n x n conventional supercell.

    Parameters
    ----------
    cells : int
        Conventional cells per edge (4 n^3 atoms).
    n_modes : int
        Number of (q, s) modes excited, chosen at random among commensurate q with q != -q.
    amplitude : float
        |Q| of every excited mode, amu^1/2 Angstrom.
    dt : float
        Time between frames, ps.
    """

    def __init__(self, cells: int, n_modes: int = 12, amplitude: float = 2.0, dt: float = 0.04, seed: int = 0):
        import trajmodes
        from trajmodes.lattice.qpoints import commensurate_qpoints
        fc = trajmodes.ForceConstants.read(str(FC_DIR), "phonopy")
        self.phonons = trajmodes.Phonons(fc)
        prim = fc.primitive
        self.a = float(np.linalg.norm(prim.cell[0]) * np.sqrt(2.0))     # conventional lattice parameter
        conv = np.eye(3) * self.a
        S = np.rint(cells * conv @ np.linalg.inv(prim.cell)).astype(int)   # MD supercell on the primitive cell
        g = np.arange(cells)
        origins = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
        self.cell = cells * conv
        self.positions = ((origins[:, None, :] + FCC_BASIS[None]).reshape(-1, 3) * self.a)
        self.n_atoms = len(self.positions)
        self.mass = float(prim.masses[0])
        self.n_cells = self.n_atoms                                       # one atom per primitive cell
        rng = np.random.default_rng(seed)
        q = commensurate_qpoints(S)
        minus = np.mod(-q * 2, 1.0)                                       # 2q = 0 mod G: q = -q, skip
        cand = np.flatnonzero(np.any(np.abs(minus - np.rint(minus)) > 1e-9, axis=1))
        pick = rng.choice(cand, size=min(n_modes, len(cand)), replace=False)
        self.q = q[pick]
        # one q of each +-q pair: drop picks whose partner was also picked
        keep, seen = [], set()
        for i, qq in enumerate(self.q):
            key = tuple(np.round(np.mod(qq, 1.0), 8) % 1.0)
            partner = tuple(np.round(np.mod(-qq, 1.0), 8) % 1.0)
            if partner not in seen:
                keep.append(i)
                seen.add(key)
        self.q = self.q[keep]
        self.branch = rng.integers(0, 3, size=len(self.q))
        nu, vecs = self.phonons.frequencies_and_eigenvectors(self.q)
        self.nu = nu[np.arange(len(self.q)), self.branch]                 # THz
        self.omega = 2 * np.pi * self.nu                                  # rad/ps
        self.e = vecs[np.arange(len(self.q)), :, self.branch]             # (K, 3)
        self.phi = rng.uniform(0, 2 * np.pi, len(self.q))
        self.amplitude = float(amplitude)
        self.dt = float(dt)
        frac = self.positions @ np.linalg.inv(prim.cell)                  # primitive fractional = r0
        # per-atom spatial factor  e(q,s) e^{i 2 pi q.r0} / sqrt(N_c m): (K, N, 3)
        self._space = (self.e[:, None, :] * np.exp(2j * np.pi * (frac @ self.q.T)).T[:, :, None]
                       / np.sqrt(self.n_cells * self.mass))

    def frames(self, start: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Displacements (count, N, 3) Angstrom and velocities (count, N, 3) Angstrom/ps, exact."""
        t = (start + np.arange(count)) * self.dt
        c = self.amplitude * np.exp(1j * (self.phi[None] - self.omega[None] * t[:, None]))    # (count, K)
        u = 2 * np.einsum("tk,kna->tna", c, self._space).real
        v = 2 * np.einsum("tk,kna->tna", -1j * self.omega[None] * c, self._space).real
        return u, v

    def expected_q(self, time: np.ndarray) -> np.ndarray:
        """Q(q,s,t) of the excited modes, (time, K) complex."""
        return self.amplitude * np.exp(1j * (self.phi[None] - self.omega[None] * np.asarray(time)[:, None]))

    def write(self, path: str, n_frames: int, batch: int = 0, progress: bool = True) -> dict:
        """Write ``n_frames`` frames to ``path`` (atomically: a temporary name, then renamed)."""
        n = self.n_atoms
        batch = batch or max(1, int(4e6 // n))
        w = len(str(n))
        prefix = np.frombuffer("".join(f"{i + 1:>{w}} 1" for i in range(n)).encode(), np.uint8).reshape(n, w + 2)
        newline = np.full((n, 1), 10, np.uint8)
        lo, hi = "%.16e" % 0.0, "%.16e" % self.cell[0, 0]
        tmp = f"{path}.tmp{os.getpid()}"
        t0 = time.perf_counter()
        written = 0
        with open(tmp, "wb") as fh:
            for f0 in range(0, n_frames, batch):
                cnt = min(batch, n_frames - f0)
                u, v = self.frames(f0, cnt)
                cols = format_columns(np.concatenate([self.positions[None] + u, v], axis=2))    # (cnt, N, 6*W)
                for k in range(cnt):
                    head = (f"ITEM: TIME\n{(f0 + k) * self.dt:.6f}\nITEM: TIMESTEP\n{(f0 + k) * 20}\n"
                            f"ITEM: NUMBER OF ATOMS\n{n}\nITEM: BOX BOUNDS pp pp pp\n"
                            + f"{lo} {hi}\n" * 3 + "ITEM: ATOMS id type xu yu zu vx vy vz\n").encode()
                    fh.write(head)
                    fh.write(np.concatenate([prefix, cols[k], newline], axis=1).tobytes())
                written += cnt
                if progress:
                    el = time.perf_counter() - t0
                    print(f"\r  {written}/{n_frames} frames, {fh.tell() / 1e9:.2f} GB, {fh.tell() / 1e6 / el:.0f} MB/s",
                          end="", file=sys.stderr, flush=True)
        if progress:
            print(file=sys.stderr)
        os.replace(tmp, path)
        return dict(path=str(path), frames=n_frames, atoms=n, bytes=os.path.getsize(path),
                    seconds=time.perf_counter() - t0)

    def reference(self):
        """The ideal crystal as a trajmodes Structure (the projection's reference)."""
        from trajmodes.lattice.structure import Structure
        return Structure(self.positions, self.cell, np.array(["Cu"] * self.n_atoms), np.full(self.n_atoms, self.mass))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path")
    ap.add_argument("--cells", type=int, default=4)
    ap.add_argument("--frames", type=int, default=0)
    ap.add_argument("--size-gb", type=float, default=0.0, help="write frames until the file reaches this size")
    ap.add_argument("--modes", type=int, default=12)
    ap.add_argument("--dt", type=float, default=0.04)
    args = ap.parse_args(argv)
    h = HarmonicCu(args.cells, n_modes=args.modes, dt=args.dt)
    frames = args.frames
    if not frames:
        per_frame = h.n_atoms * (6 * WIDTH + len(str(h.n_atoms)) + 3) + 260
        frames = max(1, int(args.size_gb * 1e9 / per_frame))
    info = h.write(args.path, frames)
    print(json.dumps(info))


if __name__ == "__main__":
    main()
