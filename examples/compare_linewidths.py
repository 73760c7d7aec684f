#!/usr/bin/env python3
"""MD linewidths against three-phonon theory for the runs of ``make_md_lines.py`` (Si SW, Cu EAM, two
temperatures each), with the trajmodes command line; the figures and the table go to ``--out``.

Usage::

    python examples/make_md_lines.py                      # the four 200 ps NVE runs -> /work/md_lines
    python examples/compare_linewidths.py --runs /work/md_lines --out docs/figures/compare

Per run: ``trajmodes fit`` (fc2 + fc3, every 10th frame), ``trajmodes project --full`` (every frame, full
resolution periodograms, Lorentzian fits), ``trajmodes compare`` (classical three-phonon widths and shifts on the
MD cell's q-points, Gaussian smearing of half the median MD FWHM; RTA conductivity from both lifetimes).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import xarray as xr

from trajmodes.cli import main as trajmodes

RUNS = {"cu_300K": (5.0, 3.0), "cu_900K": (5.0, 3.0), "si_300K": (6.0, 4.0), "si_1000K": (6.0, 4.0)}


def one(name: str, runs: Path, work: Path, out: Path, reuse: bool = False) -> dict:
    c2, c3 = RUNS[name]
    dump, data = str(runs / f"{name}.lammpstrj"), str(runs / f"{name}.data")
    w = work / name
    w.mkdir(parents=True, exist_ok=True)
    steps = [["fit", dump, "--reference", data, "--cutoff2", str(c2), "--cutoff3", str(c3), "--stride", "10",
              "-o", str(w)],
             ["project", dump, "--reference", data, "--force-constants", str(w / "fc.nc"), "--full",
              "-o", str(w)],
             ["compare", str(w / "modes.nc"), str(w / "fc.nc"), "-o", str(w / "compare")]]
    for argv in steps:
        made = w / {"fit": "fc.nc", "project": "modes.nc"}.get(argv[0], "")
        if reuse and argv[0] in ("fit", "project") and made.exists():
            continue
        print("trajmodes", " ".join(argv), flush=True)
        if trajmodes(argv) != 0:
            raise SystemExit(f"trajmodes {argv[0]} failed on {name}")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.png").write_bytes((w / "compare" / "comparison.png").read_bytes())
    with xr.open_dataset(w / "compare" / "comparison.nc") as ds:
        r = ds["fwhm_ratio"].values
        r = r[np.isfinite(r)]
        rel_md = ds["md_fwhm_err"].values / ds["md_fwhm"].values
        ok = np.isfinite(ds["fwhm_ratio"].values)
        return dict(run=name, T=round(float(ds.attrs["temperature"]), 1), smearing=float(ds.attrs["smearing"]),
                    compared=int(ok.sum()), modes=int(ok.size), without_decay=int(ds.attrs["n_modes_without_decay"]),
                    ratio_median=float(np.median(r)), ratio_16=float(np.quantile(r, 0.16)),
                    ratio_84=float(np.quantile(r, 0.84)), md_fwhm_median=float(np.median(ds["md_fwhm"].values[ok])),
                    pt_fwhm_median=float(np.median(ds["pt_fwhm"].values[ok])),
                    md_fwhm_rel_err_median=float(np.median(rel_md[ok])),
                    md_shift_median=float(np.median(ds["md_shift"].values[ok])),
                    pt_shift_median=float(np.median(ds["pt_shift"].values[ok])),
                    kappa_md=float(np.trace(ds["kappa_md"].values) / 3),
                    kappa_md_err=float(np.trace(ds["kappa_md_err"].values) / 3),
                    kappa_pt=float(np.trace(ds["kappa_pt"].values) / 3),
                    kappa_md_missing_share=float(ds.attrs["kappa_md_missing_share"]),
                    kappa_pt_missing_share=float(ds.attrs["kappa_pt_missing_share"]),
                    md_status={str(k): int(v) for k, v in zip(*np.unique(ds["md_status"].values, return_counts=True))})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", default="/work/md_lines", type=Path, help="folder of make_md_lines.py's runs")
    ap.add_argument("--work", default="/tmp/trajmodes_compare", type=Path, help="scratch folder (fits, modes)")
    ap.add_argument("--out", default=Path("docs/figures/compare"), type=Path, help="figures and summary.json")
    ap.add_argument("--only", choices=sorted(RUNS), action="append")
    ap.add_argument("--reuse", action="store_true", help="keep fits and projections already in --work")
    args = ap.parse_args(argv)
    rows = [one(n, args.runs, args.work, args.out, args.reuse) for n in (args.only or RUNS)]
    (args.out / "summary.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
