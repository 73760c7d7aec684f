"""Potential energies of the shipped Si runs, as LAMMPS thermo logs, for the temperature-series notebook.

The dumps of ``examples/md/si_*`` carry positions, velocities and forces but no potential energy, and the TDEP free
energy needs it. LAMMPS would give it by a ``rerun`` of the dump; this script gives the same numbers with
trajmodes' own Stillinger-Weber potential (``examples/potentials/Si_SW1985.sw``, the parameters of LAMMPS'
``Si.sw`` the runs used): it evaluates every frame, checks that its forces equal the dumped ones (to 1e-5 eV/A,
so the potential is the one of the run), and writes ``data/NAME.log`` with one ``Step PotEng`` row per frame,
which ``trajmodes.read(dump, thermo=log)`` matches to the frames by MD step.

    python examples/notebooks/make_thermo_logs.py          # about 40 s on 2 cores
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent
RUNS = ("si_300K", "si_1000K")


def thermo_log(name: str, batch: int = 25) -> str:
    import trajmodes
    from trajmodes.potentials.engines import PotentialEngine
    sw = trajmodes.StillingerWeber.from_lammps(EXAMPLES / "potentials" / "Si_SW1985.sw")
    traj = trajmodes.read(EXAMPLES / "md" / f"{name}.lammpstrj.gz", reference=EXAMPLES / "md" / f"{name}.data")
    engine = PotentialEngine(sw, traj.reference)
    steps = np.asarray(traj.steps)
    rows = []
    for start in range(0, traj.n_frames, batch):
        part = traj[start:start + batch]
        batch_result = engine.evaluate(part.positions.compute())
        E, F = batch_result.energies, batch_result.forces
        err = float(np.abs(F - part.forces.compute()).max())
        if err > 1e-5:
            raise SystemExit(f"{name}: the potential's forces differ from the dumped ones by {err:.2g} eV/A: "
                             "not the potential of the run")
        rows += [f"{int(s):d} {e:.10f}" for s, e in zip(steps[start:start + batch], E)]
    head = (f"# potential energies of examples/md/{name}.lammpstrj.gz from trajmodes' Stillinger-Weber\n"
            f"# (examples/potentials/Si_SW1985.sw), written by examples/notebooks/make_thermo_logs.py\n"
            "units metal\nthermo_style custom step pe\n")
    return head + "Step PotEng\n" + "\n".join(rows) + "\nLoop time of 0 on 1 procs\n"


def main() -> int:
    (HERE / "data").mkdir(exist_ok=True)
    for name in RUNS:
        (HERE / "data" / f"{name}.log").write_text(thermo_log(name))
        print(f"wrote data/{name}.log")
    return 0


if __name__ == "__main__":
    sys.exit(main())
