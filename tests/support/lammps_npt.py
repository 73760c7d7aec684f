"""Two real LAMMPS runs of fcc Cu (EAM, Mishin et al. 2001) at 300 K for the variable-cell test: one NPT (0 bar) and
one NVT at the NPT run's mean lattice parameter, both dumping positions and forces.

Stages of each run (``RUN_IN``): the crystal at ``a``; Langevin at T for ``equil_ps`` (centre of mass at rest); then
Nose-Hoover ``npt`` (iso, 0 bar, Tdamp 0.1 ps, Pdamp 1 ps) or ``nvt`` (Tdamp 0.1 ps) for ``equil_ps`` more, unrecorded,
and ``ps`` of production dumped every ``nevery`` steps (``id type xu yu zu fx fy fz``, ``ITEM: TIME``). The NVT run is
made at the mean lattice parameter of the NPT production (from its box lengths). Used by tests/trajectory/test_npt.py.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.support.lammps_md import CRYSTALS, THERMALISE, require_potential, run_lammps

RUN_IN = """\
neighbor        2.0 bin
neigh_modify    every 1 delay 0 check yes
write_data      {data}
timestep        {dt}
""" + THERMALISE + """\
unfix           integrate
fix             ens all {ensemble}
fix             mom all momentum 100 linear 1 1 1
run             {neq}
reset_timestep  0
dump            traj all custom {nevery} {dump} id type xu yu zu fx fy fz
dump_modify     traj sort id format float %.9g units yes time yes
run             {nprod}
"""

PARAMS = dict(a=3.6319, T=300.0, dt=0.002, equil_ps=6.0, ps=60.0, nevery=20, seed=424242, seed2=171717)


def _run(out: Path, name: str, ensemble: str, a: float, p: dict) -> Path:
    pot = require_potential("Cu_mishin1.eam.alloy")
    steps = lambda ps: int(round(ps / p["dt"]))  # noqa: E731
    dump = out / f"{name}.lammpstrj"
    text = CRYSTALS["cu"].format(a=a, potfile=pot) + RUN_IN.format(
        data=out / f"{name}.data", dt=p["dt"], T=p["T"], T2=2 * p["T"], seed=p["seed"], seed2=p["seed2"],
        neq=steps(p["equil_ps"]), ensemble=ensemble, nevery=p["nevery"], dump=dump,
        nprod=steps(p["ps"]) // p["nevery"] * p["nevery"])
    run_lammps(text, out / f"{name}.log")
    return dump


def generate(outdir, **overrides) -> dict:
    """The NPT and NVT runs in ``outdir`` (reused when made with the same parameters): dict(npt=, nvt=, a_npt=)."""
    p = dict(PARAMS, **overrides)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    meta = out / "npt_nvt.json"
    if meta.exists():
        m = json.loads(meta.read_text())
        if m.get("params") == p and Path(m["npt"]).exists() and Path(m["nvt"]).exists():
            return m
    T = p["T"]
    npt = _run(out, "cu_npt", f"npt temp {T} {T} 0.1 iso 0.0 0.0 1.0", p["a"], p)
    import trajmodes
    cells = trajmodes.read(npt).cells.compute()
    a_npt = float(np.mean(np.linalg.norm(cells, axis=2)) / 4)
    nvt = _run(out, "cu_nvt", f"nvt temp {T} {T} 0.1", a_npt, dict(p, seed=p["seed"] + 1, seed2=p["seed2"] + 1))
    m = dict(params=p, npt=str(npt), nvt=str(nvt), a_npt=a_npt,
             a_spread=float(np.std(np.linalg.norm(cells, axis=2)) / 4))
    meta.write_text(json.dumps(m, indent=1) + "\n")
    return m
