"""The measurements of docs/disorder.md's QHGK section: MD lifetimes of two amorphous Si cells at 50 K projected onto
their harmonic modes, the three-phonon widths of the smaller one, and the QHGK conductivity with either against
Allen-Feldman. Prints markdown tables::

    PYTHONPATH=. python -m tests.support.qhgk_md_report OUTDIR [--temperature 50] [--ps 100]

OUTDIR keeps the LAMMPS runs (tests/support/lammps_glass.py) for a second call.
"""
from __future__ import annotations

import argparse
import collections
import time
import warnings
from pathlib import Path

import numpy as np

BANDS = [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14), (14, 16), (16, 20)]


def _measure(outdir, crystal, temperature, ps, sw):
    import trajmodes
    from tests.support.lammps_glass import generate
    from trajmodes.disorder import GlassHarmonic, GlassPhonons, gamma_modes, md_linewidths
    from trajmodes.modes.energies import mode_energies
    t0 = time.perf_counter()
    r = generate(outdir, temperature=temperature, ps=ps, crystal=crystal)
    model = GlassHarmonic.from_potential(sw, r["crystal"])
    modes = gamma_modes(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traj = trajmodes.read(str(r["dump"]), species={1: "Si"}, reference=r["crystal"].positions)
        projected = trajmodes.project(traj, GlassPhonons(modes, r["crystal"]))
        energies = mode_energies(projected, temperature=temperature)
        peaks = trajmodes.fit_peaks(trajmodes.mode_spectra(projected, resolution=0.02), progress=False)
    print(f"\n{r['crystal'].n_atoms} atoms: LAMMPS {r['info']['seconds']:.0f} s, all {time.perf_counter() - t0:.0f} s; "
          f"fit statuses {dict(collections.Counter(peaks.status.values[0].astype(str)))}")
    return model, modes, energies, md_linewidths(peaks, modes)


def main(argv=None) -> None:
    from tests.disorder.conftest import DATA, SW_SI
    from tests.support.lammps_glass import glass_crystal
    from trajmodes.disorder import (allen_feldman, allen_feldman_conductivity, perturbative_linewidths,
                                    qhgk_conductivity)
    from trajmodes.lattice.crystal import Crystal
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    from trajmodes.potentials.threebody import StillingerWeber
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("outdir")
    p.add_argument("--temperature", type=float, default=50.0)
    p.add_argument("--ps", type=float, default=100.0)
    a = p.parse_args(argv)
    T, sw = a.temperature, StillingerWeber(SW_SI)
    z = np.load(DATA / "glass" / "asi64.npz")
    small = Crystal(z["cell"], z["positions"], [str(s) for s in z["species"]])
    for name, crystal in (("asi216", glass_crystal()), ("asi64", small)):
        model, modes, energies, w = _measure(Path(a.outdir) / name, crystal, T, a.ps, sw)
        nu, ok, g = modes.frequencies, w.measured.values, w.linewidth.values
        pert = None
        if crystal.n_atoms <= 64:
            t0 = time.perf_counter()
            an = Anharmonic(sw.force_constants3(crystal, primitive=crystal), 1, temperatures=[T],
                            occupation="classical", smearing=0.1, allow_unstable=True)
            pert = perturbative_linewidths(an, modes)[0]
            print(f"three-phonon widths (Gaussians of 0.1 THz, classical): {time.perf_counter() - t0:.0f} s")
        q = qhgk_conductivity(model, modes, g, [T], "classical")
        wmed = float(np.nanmedian(g))
        af = allen_feldman(model, modes, wmed)
        af16 = allen_feldman(model, modes, 0.16)
        tk = energies.mode_temperature.values[0] / T
        head = ["band (THz)", "modes", "fitted", "kinetic T / T", "MD FWHM (THz)", "error", "lifetime (ps)"] \
            + (["3-phonon FWHM"] if pert is not None else []) + ["D QHGK(MD)", f"D AF({wmed:.3f})", "D AF(0.16)"]
        print("\n| " + " | ".join(head) + " |\n" + "|---" * len(head) + "|")
        for lo, hi in BANDS:
            m = (nu > lo) & (nu < hi)
            mm = m & ok
            if not mm.any():
                continue
            row = [f"{lo}-{hi}", f"{m.sum()}", f"{mm.sum()}", f"{tk[m].mean():.3f}",
                   f"{np.median(w.fwhm.values[mm]):.3f}", f"{np.median(w.fwhm_err.values[mm]):.3f}",
                   f"{np.median(w.lifetime.values[mm]):.2f}"]
            if pert is not None:
                row.append(f"{np.median(pert[mm]):.3f}")
            row += [f"{np.nanmean(x.diffusivity.values[m]):.3f}" for x in (q, af, af16)]
            print("| " + " | ".join(row) + " |")
        kq = q.conductivity.values[0]
        ka = allen_feldman_conductivity(af, [T], "classical").conductivity.values[0]
        ka16 = allen_feldman_conductivity(af16, [T], "classical").conductivity.values[0]
        e = np.where(ok, w.fwhm_err.values, 0.0)
        lo_hi = [qhgk_conductivity(model, modes, np.where(ok, np.maximum(g + s * e, 1e-3), g), [T],
                                   "classical").conductivity.values[0] for s in (1, -1)]
        print(f"\nclassical kappa at {T:g} K (W/(m K)): QHGK with MD widths {kq:.4f} (widths +- their errors: "
              f"{lo_hi[0]:.4f} to {lo_hi[1]:.4f}), Allen-Feldman half width {wmed:.3f} THz {ka:.4f}, 0.16 THz "
              f"{ka16:.4f}")
        if pert is not None:
            kp = qhgk_conductivity(model, modes, np.where(nu > 1e-3, pert, np.nan), [T],
                                   "classical").conductivity.values[0]
            r = w.fwhm.values[ok & (nu > 2)] / pert[ok & (nu > 2)]
            print(f"QHGK with three-phonon widths {kp:.4f}; MD / three-phonon FWHM: median {np.median(r):.2f}, "
                  f"10-90 % {np.percentile(r, 10):.2f}-{np.percentile(r, 90):.2f}")


if __name__ == "__main__":
    main()
