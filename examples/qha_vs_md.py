#!/usr/bin/env python
"""The quasiharmonic lattice parameter of Stillinger-Weber silicon beside LAMMPS NPT molecular dynamics.

    python examples/qha_vs_md.py [--md examples/md/si_npt_series.json] [--out docs/figures/qha]

The MD lattice parameters come from ``examples/make_npt_series.py`` (512 atoms, 40 ps per temperature, block-average
errors). The quasiharmonic ones (M. B. Taylor, N. L. Allan, J. A. O. Bruno and G. D. Barrera, Phys. Rev. B 59, 353
(1999)) use the same potential (F. H. Stillinger and T. A. Weber, Phys. Rev. B 31, 5262 (1985)) with classical
statistics (what classical MD samples), on a 16^3 mesh and on the MD cell's own 256 q-points, and with quantum
statistics for reference. Writes ``si_sw_qha_md.png`` and ``si_sw_qha_md.json`` (the numbers) into ``--out``;
about 10 s.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--md", default=str(ROOT / "examples" / "md" / "si_npt_series.json"))
    p.add_argument("--out", default=str(ROOT / "docs" / "figures" / "qha"))
    args = p.parse_args()
    from trajmodes.lattice.prototypes import prototype
    from trajmodes.phonons.thermodynamics.quasiharmonic import QuasiHarmonic
    from trajmodes.plots.figures import figure, save
    from trajmodes.potentials.threebody import StillingerWeber
    md = json.load(open(args.md))
    rows = md["series"]
    T_md = np.array([r["T"] for r in rows])
    a_md = np.array([r["a"] for r in rows])
    e_md = np.array([r["a_err"] for r in rows])
    cells = md["settings"]["cells"]
    sw = StillingerWeber.from_lammps(ROOT / md["settings"]["potential"])
    prim = prototype("diamond", "Si", 5.431)
    T = np.linspace(0.0, 1400.0, 57)
    conv = np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]])             # the cube in primitive vectors
    runs = {"classical, 16^3 mesh": (16, "classical"), "classical, the MD cell's q": (cells[0] * conv, "classical"),
            "quantum, 16^3 mesh": (16, "quantum")}
    curves, at_md = {}, {}
    for name, (mesh, occ) in runs.items():
        qh = QuasiHarmonic(sw, prim, mesh=mesh, occupation=occ)
        curves[name] = (4 * qh.minimize(T, properties=False)["volume"].values) ** (1 / 3)
        at_md[name] = (4 * qh.minimize(T_md, properties=False)["volume"].values) ** (1 / 3)
    fig, ax = figure(1, 2, (12.0, 4.4))
    for name, style in zip(curves, ("-", "--", ":")):
        ax[0].plot(T, curves[name], style, label="quasiharmonic, " + name.replace("16^3", "16$^3$"))
    ax[0].errorbar(T_md, a_md, yerr=e_md, fmt="s", color="k", ms=4, capsize=2,
                   label=f"LAMMPS NPT MD ({md['settings']['n_atoms']} atoms)")
    ax[0].set_xlabel("temperature (K)")
    ax[0].set_ylabel("lattice parameter $a$ (Å)")
    ax[0].legend(fontsize=8)
    ref = at_md["classical, the MD cell's q"]
    ax[1].errorbar(T_md, 1e3 * (a_md - ref), yerr=1e3 * e_md, fmt="s", color="k", ms=4, capsize=2)
    ax[1].axhline(0, color="0.7", lw=0.8)
    ax[1].set_xlabel("temperature (K)")
    ax[1].set_ylabel(r"$a_\mathrm{MD} - a_\mathrm{QHA}$ (classical, the MD cell's q) (mÅ)")
    ax[1].set_title("beyond the quasiharmonic approximation: MD − quasiharmonic", fontsize=9)
    fig.suptitle("Stillinger-Weber Si: lattice parameter from the quasiharmonic minimisation and from NPT molecular "
                 "dynamics", fontsize=10)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save(fig, str(out / "si_sw_qha_md.png"))
    table = dict(T=T_md.tolist(), a_md=a_md.tolist(), a_md_err=e_md.tolist(),
                 **{f"a_qha[{k}]": v.tolist() for k, v in at_md.items()})
    tmp = out / "si_sw_qha_md.json.tmp"
    tmp.write_text(json.dumps(table, indent=1))
    os.replace(tmp, out / "si_sw_qha_md.json")
    print(f"{'T':>6} {'a MD':>10} {'err':>8} " + " ".join(f"{k[:24]:>26}" for k in at_md))
    for i, t in enumerate(T_md):
        print(f"{t:6.0f} {a_md[i]:10.6f} {e_md[i]:8.6f} " + " ".join(f"{at_md[k][i]:26.6f}" for k in at_md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
