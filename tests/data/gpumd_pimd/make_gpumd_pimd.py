"""Write the GPUMD path-integral run of tests/data/gpumd_pimd: the files GPUMD's ``dump_beads`` would write for an
exact ring-polymer (RPMD) trajectory of a harmonic fcc crystal, with its run.in and model.xyz.

GPUMD needs a CUDA GPU, so the files are written here in exactly its format (src/measure/dump_beads.cu of GPUMD at
commit d98135deee27068f4f30605fbc581d4c613fff99: ``%d`` atom count; ``Time=%.8f`` (fs) ``pbc="T T T"``
``Lattice="..."`` (a, b, c, ``%.8f``) ``Properties=species:S:1:pos:R:3:vel:R:3:forces:R:3``; rows of the species and
``%.8f`` numbers, velocities in A/fs), from the exact dynamics of the run.in below:

    ensemble pimd 4 50 50 100 / run 1000       (equilibration: no beads dumped)
    ensemble rpmd 4 / dump_beads 10 1 1 / run 40

The crystal is tests.quantum.support.harmonic_fcc() (32 Ar atoms, a = 5.3 A, nearest-neighbour springs of 1 eV/A^2:
forces -H u exactly). The RPMD Hamiltonian of a harmonic crystal is a sum of independent oscillators, one per crystal
mode s and free ring-polymer mode k, at omega_sk^2 = omega_s^2 + omega_k^2 (omega_k = 2 (P k_B T / hbar) sin(pi k /
P), GPUMD's omega_n = P k_B T / hbar), and its equilibrium at the bead temperature P T is exact Gaussians: at the end
of the equilibration (t0 = 1000 fs) each oscillator gets amplitude ~ N(0, P k_B T / omega_sk^2) and velocity ~
N(0, P k_B T) (mass-weighted), and is then moved exactly to the frames at t0 + 10, 20, 30, 40 fs. The three
translations are left out (the centre of mass of every bead at rest). Every bead's positions are the exact
ring-polymer distribution of the crystal at 50 K, its forces -H u, its velocities the exact derivative.

Run from the repository root: ``python tests/data/gpumd_pimd/make_gpumd_pimd.py``.
"""
from __future__ import annotations

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(HERE))))

from tests.quantum.support import harmonic_fcc  # noqa: E402
from trajmodes.units import AMU_A2_PS2_EV, H_EV_PS, KB_EV  # noqa: E402

P, T, SEED = 4, 50.0, 2718
T0_FS, DT_FS, INTERVAL, STEPS = 1000.0, 1.0, 10, 40
RUN_IN = """\
# harmonic fcc Ar (nearest-neighbour springs of 1 eV/A^2: a second-order force-constant potential, fcp.txt)
potential     fcp.txt
velocity      50
time_step     1

# path-integral MD (PILE) at 50 K, 4 beads: equilibration
ensemble      pimd 4 50 50 100
run           1000

# ring-polymer MD (no thermostat) from there: the beads dumped every 10 steps
ensemble      rpmd 4
dump_beads    10 1 1
run           40
"""


def main():
    c = harmonic_fcc()
    x0, cell, sp, m, H = c["positions"], c["cell"], c["species"], c["masses"], c["hessian"]
    n = len(x0)
    m3 = np.repeat(m, 3)
    lam, e = np.linalg.eigh(H / np.sqrt(np.outer(m3, m3)))             # eV/(A^2 amu)
    keep = np.argsort(lam)[3:]                                          # the three translations left out
    lam, e = lam[keep], e[:, keep]
    ring = 2 * np.eye(P) - np.roll(np.eye(P), 1, axis=1) - np.roll(np.eye(P), -1, axis=1)
    springs, C = np.linalg.eigh(ring)                                   # 4 sin^2(pi k / P)
    omega_p = P * KB_EV * T / (H_EV_PS / (2 * np.pi))                   # rad/ps
    lam_sk = lam[None, :] + AMU_A2_PS2_EV * omega_p ** 2 * np.clip(springs, 0, None)[:, None]   # (P, modes)
    w = np.sqrt(lam_sk / AMU_A2_PS2_EV)                                 # rad/ps
    rng = np.random.default_rng(SEED)
    kT = P * KB_EV * T                                                  # eV: the beads are at P T
    q0 = rng.standard_normal(lam_sk.shape) * np.sqrt(kT / lam_sk)       # A amu^1/2
    v0 = rng.standard_normal(lam_sk.shape) * np.sqrt(kT / AMU_A2_PS2_EV)    # A amu^1/2 / ps
    times = np.arange(INTERVAL, STEPS + 1, INTERVAL) * DT_FS            # fs after t0
    lattice = " ".join(f"{v:.8f}" for v in cell.ravel())
    files = [open(os.path.join(HERE, f"beads_dump_{k}.xyz"), "w") for k in range(P)]
    for t in times:
        tp = t * 1e-3
        q = q0 * np.cos(w * tp) + v0 / w * np.sin(w * tp)
        v = -q0 * w * np.sin(w * tp) + v0 * np.cos(w * tp)
        u = (np.einsum("jk,ks->js", C, q) @ e.T) / np.sqrt(m3)          # (beads, 3N) A
        vel = (np.einsum("jk,ks->js", C, v) @ e.T) / np.sqrt(m3)        # A/ps
        f = -u @ H                                                      # eV/A
        for k, fid in enumerate(files):
            fid.write(f"{n}\n")
            fid.write(f"Time={T0_FS + t:.8f} pbc=\"T T T\" Lattice=\"{lattice}\" "
                      "Properties=species:S:1:pos:R:3:vel:R:3:forces:R:3\n")
            pos = x0 + u[k].reshape(n, 3)
            for i in range(n):
                row = "".join(f" {a:.8f}" for a in pos[i])
                row += "".join(f" {a * 1e-3:.8f}" for a in vel[k].reshape(n, 3)[i])      # A/fs
                row += "".join(f" {a:.8f}" for a in f[k].reshape(n, 3)[i])
                fid.write(f"{sp[i]}{row}\n")
    for fid in files:
        fid.close()
    with open(os.path.join(HERE, "run.in"), "w") as fid:
        fid.write(RUN_IN)
    with open(os.path.join(HERE, "model.xyz"), "w") as fid:
        fid.write(f"{n}\npbc=\"T T T\" Lattice=\"{lattice}\" Properties=species:S:1:pos:R:3:mass:R:1\n")
        for i in range(n):
            fid.write(f"{sp[i]} {x0[i, 0]:.8f} {x0[i, 1]:.8f} {x0[i, 2]:.8f} {m[i]:.8f}\n")


if __name__ == "__main__":
    main()
