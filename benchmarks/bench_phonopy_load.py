#!/usr/bin/env python
"""Reading a large phonopy_params.yaml: trajmodes ``ForceConstants.read`` vs ``phonopy.load``, one run.

    python benchmarks/bench_phonopy_load.py [--cells 6] [--repeats 3] [--work DIR] [--out benchmarks/results]

Case: bcc Zr (a = 3.6424 A), the 2-atom conventional cube as phonopy's unit cell, a 6x6x6 supercell (432 atoms),
primitive matrix of the body-centred lattice; full (432, 432, 3, 3) force constants of a Morse pair potential
(D0 = 0.3 eV, alpha = 1.2 / A, r0 = 3.15 A, cutoff 7.6 A) written *into* the yaml by phonopy's own ``save``
(``settings={"force_constants": True}``): a 47 MB file, whose reading is almost all YAML parsing.

Timed: each reader in a fresh Python process (so that its peak memory is its own; imports not timed, the peak RSS
includes them and is given with the RSS after the imports), the two alternated over ``--repeats`` rounds so that a
busy spell hits both alike; best and median of the rounds. phonopy: ``phonopy.load(yaml, is_nac=False,
symmetrize_fc=False, log_level=0)``; trajmodes: ``ForceConstants.read(yaml, "phonopy")``.

Checks: the frequencies (THz) of both at a few q-points (trajmodes ``Phonons``, phonopy ``run_qpoints``) agree to
1e-6 THz, and trajmodes parsed the yaml once (PyYAML's ``yaml.load`` counted).

Writes ``<out>/phonopy_load.json`` and ``<out>/phonopy_load.md`` (the table, also printed).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

A_ZR = 3.6424
Q = [[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.5, 0.5, 0.5], [0.25, 0.25, 0.0], [0.1, 0.2, 0.3]]

#: one reading in a fresh process: time of the call, RSS after the imports, peak RSS, frequencies at Q
CHILD = r"""
import json, resource, sys, time
import numpy as np
which, yaml_path, q = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
import yaml, phonopy, trajmodes
from trajmodes.phonons.harmonic.phonons import Phonons
from trajmodes.forceconstants.model import ForceConstants
calls = []
load = yaml.load
def counted(*a, **k):
    calls.append(1)
    return load(*a, **k)
yaml.load = counted
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
if which == "phonopy":
    ph = phonopy.load(yaml_path, is_nac=False, symmetrize_fc=False, log_level=0)
else:
    fc = ForceConstants.read(yaml_path, "phonopy")
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if which == "phonopy":
    ph.run_qpoints(q)
    nu = ph.qpoints.frequencies
else:
    nu = Phonons(fc).frequencies(np.array(q))
print(json.dumps(dict(seconds=seconds, rss_after_imports_MB=rss0, peak_rss_MB=peak, yaml_loads=len(calls),
                      frequencies=np.asarray(nu).tolist())))
"""


def environment() -> dict:
    import phonopy
    import yaml
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
               platform.processor()) if os.path.exists("/proc/cpuinfo") else platform.processor()
    return dict(python=platform.python_version(), numpy=np.__version__, phonopy=phonopy.__version__,
                pyyaml=yaml.__version__, pyyaml_c_loader=bool(yaml.__with_libyaml__), cpu=cpu, cores=os.cpu_count())


def make_yaml(path: Path, cells: int) -> dict:
    """phonopy_params.yaml of bcc Zr on a cells^3 supercell of the cube, full force constants inside."""
    import phonopy
    from phonopy.structure.atoms import PhonopyAtoms
    from trajmodes.io.forceconstants.phonopy import crystal_from_phonopy
    from trajmodes.potentials.pair import Morse
    unit = PhonopyAtoms(symbols=["Zr", "Zr"], cell=np.eye(3) * A_ZR, scaled_positions=[[0, 0, 0], [.5, .5, .5]])
    pmat = 0.5 * np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]])
    ph = phonopy.Phonopy(unit, supercell_matrix=np.eye(3, dtype=int) * cells, primitive_matrix=pmat, log_level=0)
    sc = crystal_from_phonopy(ph.supercell)
    fc = Morse(D0=0.3, alpha=1.2, r0=3.15, cutoff=7.6).force_constants(sc, crystal_from_phonopy(ph.primitive),
                                                                       layout="full")
    ph.force_constants = fc.fc2
    ph.save(str(path), settings={"force_constants": True})
    return dict(atoms=len(sc.positions), yaml_MB=path.stat().st_size / 1e6)


def read_once(which: str, yaml_path: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", CHILD, which, str(yaml_path), json.dumps(Q)], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cells", type=int, default=6, help="supercell of cells^3 conventional bcc cubes")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--work", default=None, help="folder for the yaml (default: a temporary one, removed)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        yaml_path = work / "phonopy_params.yaml"
        case = dict(crystal="bcc Zr, Morse pair constants", cells=args.cells, repeats=args.repeats,
                    **make_yaml(yaml_path, args.cells))
        print(f"case: {case}", flush=True)
        runs = {"phonopy": [], "trajmodes": []}
        for _ in range(args.repeats):                       # interleaved rounds
            for which in runs:
                runs[which].append(read_once(which, yaml_path))

    best = {k: min(r["seconds"] for r in v) for k, v in runs.items()}
    median = {k: float(np.median([r["seconds"] for r in v])) for k, v in runs.items()}
    peak = {k: max(r["peak_rss_MB"] for r in v) for k, v in runs.items()}
    base = {k: min(r["rss_after_imports_MB"] for r in v) for k, v in runs.items()}
    nu_ph = np.array(runs["phonopy"][0]["frequencies"])
    nu_tm = np.array(runs["trajmodes"][0]["frequencies"])
    checks = dict(max_dnu_THz=float(np.abs(nu_ph - nu_tm).max()), max_nu_THz=float(nu_ph.max()),
                  trajmodes_yaml_loads=max(r["yaml_loads"] for r in runs["trajmodes"]),
                  phonopy_yaml_loads=max(r["yaml_loads"] for r in runs["phonopy"]))
    ratio = best["phonopy"] / best["trajmodes"]
    passed = ratio >= 1.0 and checks["max_dnu_THz"] < 1e-6 and checks["trajmodes_yaml_loads"] == 1
    result = dict(case=case, environment=environment(),
                  timing={k: dict(best_s=best[k], median_s=median[k], all_s=[r["seconds"] for r in v],
                                  peak_rss_MB=peak[k], rss_after_imports_MB=base[k]) for k, v in runs.items()},
                  speedup_vs_phonopy=ratio, median_speedup_vs_phonopy=median["phonopy"] / median["trajmodes"],
                  checks=checks, target="read time <= phonopy.load's, the yaml parsed once, same frequencies",
                  verdict="PASS" if passed else "FAIL",
                  command="python benchmarks/bench_phonopy_load.py " + " ".join(argv if argv is not None
                                                                                  else sys.argv[1:]))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "phonopy_load.json").write_text(json.dumps(result, indent=1))
    md = table(result)
    (out / "phonopy_load.md").write_text(md)
    print(md)
    return 0


def table(res: dict) -> str:
    env, case, c, t = res["environment"], res["case"], res["checks"], res["timing"]
    lines = [f"Machine: {env['cpu']}, {env['cores']} cores; Python {env['python']}, numpy {env['numpy']}, "
             f"phonopy {env['phonopy']}, PyYAML {env['pyyaml']} (C loader {env['pyyaml_c_loader']}).",
             f"Case: {case['crystal']}, {case['cells']}^3 cubes = {case['atoms']} atoms, full force constants in "
             f"phonopy_params.yaml ({case['yaml_MB']:.1f} MB). Each reading in a fresh process, the two alternated "
             f"over {case['repeats']} rounds; best (median) of the rounds.",
             "",
             "| | phonopy.load | trajmodes ForceConstants.read | ratio (phonopy / trajmodes) | target |",
             "|---|---|---|---|---|",
             f"| read, s | {t['phonopy']['best_s']:.2f} ({t['phonopy']['median_s']:.2f}) | "
             f"{t['trajmodes']['best_s']:.2f} ({t['trajmodes']['median_s']:.2f}) | {res['speedup_vs_phonopy']:.2f}x "
             f"({res['median_speedup_vs_phonopy']:.2f}x) | >= 1x **{'pass' if res['speedup_vs_phonopy'] >= 1 else 'FAIL'}** |",
             f"| peak RSS, MB (after the imports) | {t['phonopy']['peak_rss_MB']:.0f} "
             f"({t['phonopy']['rss_after_imports_MB']:.0f}) | {t['trajmodes']['peak_rss_MB']:.0f} "
             f"({t['trajmodes']['rss_after_imports_MB']:.0f}) | | |",
             f"| yaml parses (yaml.load calls) | {c['phonopy_yaml_loads']} | {c['trajmodes_yaml_loads']} | | 1 |",
             "",
             f"Agreement: max |dnu| = {c['max_dnu_THz']:.1e} THz at {len(Q)} q-points (highest {c['max_nu_THz']:.3f} "
             "THz).",
             "", f"Target: {res['target']}. Verdict: **{res['verdict']}**.",
             "", f"Command: `{res['command']}`", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
