#!/usr/bin/env python
"""Every speed comparison of trajmodes against the code its users would otherwise run, in one go, and the tables of
``docs/benchmarks.md`` written from what was measured.

    python benchmarks/run_all.py [--quick] [--only fit,readers,...] [--skip anharmonic,...] [--no-docs] [--report]

A run of some stages (``--only``) keeps the records of the others in ``benchmarks/results/run_all.json``; ``--report``
rewrites the summary from the saved results of every stage that has them, running nothing.

Each stage runs its own script in a fresh process (``benchmarks/bench_*.py``, which keeps its own JSON and Markdown
under ``benchmarks/results/``), one after the other, with the load average recorded before and after. Then the summary
(stage, peer, what is compared, the measured ratio, the target, the verdict) and every stage's own table are written
between the ``<!-- run_all:begin -->`` and ``<!-- run_all:end -->`` markers of ``docs/benchmarks.md`` (the prose
outside them is kept), with the machine, the date and the command of every stage.

Stages (``--quick`` runs the short variants: minutes instead of about an hour):

=============  ==============================================  ====================================================
stage          peer, same input, same run                       target
=============  ==============================================  ====================================================
fit            hiPhive StructureContainer (Si 216 atoms, r2 6   >= 40x per frame (median of interleaved rounds, quiet
               r3 5)                                            and beside a busy process); within 3x of the
                                                                floating-point work of A'A
readers        MDAnalysis DumpReader (x, v, f; 256- and         >= 20x both, >= 600 MB/s per core
               6912-atom frames)
first_read     the frame index by a scan of every byte          ``convert`` of a fresh 0.3 GB, 32,000-atom dump
               (before)                                         reads <= 1.2x its size
projection     dynasor (256-atom Cu, all commensurate q)        >= 50x in memory and from file
peaks          DynaPhoPy's fit per q                            all 768 Cu modes in under 2 s
phonons        phonopy C and Rust (40^3 mesh, eigenvectors)     faster than both
phonopy_load   phonopy.load (47 MB phonopy_params.yaml, 432     no slower; the yaml parsed once
               atoms, full constants in the yaml)
anharmonic     phono3py (linewidths, RTA and LBTE kappa)        faster
series         the sum of the single fits (10 runs)             no dearer
fourth_order   hiPhive StructureContainer (Si 216 atoms, fc2 +  >= 40x per frame; the same frequencies
               fc3 + fc4)
polar          reading the frames (MgO, 216-1728 atoms)         the dipole-dipole subtraction cheaper per frame
distributed    the default threads vs a LocalCluster of         identical numbers
               processes
defaults_gan   a minute on 2 cores (GaN, 576 atoms, 4 per       ``trajmodes anharmonic`` and ``compare`` with their
               cell; phono3py on the same mesh)                 defaults within about 75 s each
normal_        one large-k rank update (dsyrk) of the same      <= 1.25x at P >= 1,000
equations      work (512-atom Si, P = 37 to ~5,000)
=============  ==============================================  ====================================================
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
DOCS = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- run_all:begin -->", "<!-- run_all:end -->"


def _load(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


def _ok(flag) -> str:
    return "pass" if flag else "**FAIL**"


# -- what each stage's JSON says, as summary rows: (stage, peer, what, measured, target, verdict) ---------------------
def rows_fit() -> list:
    r = _load("fit")
    v, fl = r["verdicts"], r.get("flops", {})
    out = [("fit", "hiPhive", "normal equations per frame, median of interleaved rounds, quiet",
            f"{v['speedup_interleaved_median']:.0f}x", ">= 40x", _ok(v["speedup_interleaved_median"] >= 40))]
    if "speedup_loaded_median" in v:
        out.append(("fit", "hiPhive", "same, beside one other busy process",
                    f"{v['speedup_loaded_median']:.0f}x", ">= 40x", _ok(v["speedup_loaded_median"] >= 40)))
    if fl:
        rounds = f", median of {fl['rounds']} interleaved rounds" if "rounds" in fl else ""
        out.append(("fit", "floating-point floor", f"kernel time / (rows x P^2 = {fl['flops_per_frame'] / 1e6:.1f} "
                    f"Mflop at {fl['syrk_rate_gflops']:.1f} Gflop/s){rounds}", f"{v['flop_ratio']:.2f}x", "<= 3x",
                    _ok(v["flop_ratio"] <= 3)))
    return out


def rows_readers() -> list:
    r = _load("readers")
    out = []
    for row in r.get("summary_rows", []):              # written by bench_readers.py: what it compared and measured
        out.append(("readers", row["peer"], row["what"], row["measured"], row["target"], _ok(row["pass"])))
    return out


def rows_first_read() -> list:
    r = _load("first_read")
    return [("first_read", row["peer"], row["what"], row["measured"], row["target"], _ok(row["pass"]))
            for row in r.get("summary_rows", [])]


def rows_projection() -> list:
    from bench_projection import interleaved_ratios
    r = _load("projection")
    d, t = r["dynasor"], r["trajmodes"]
    med = interleaved_ratios(d)
    how = f"median of {len(d['rounds']['file'])} interleaved rounds" if med.get("file") else "best of each"
    mem = med.get("memory") or t["memory_frames_per_s"] / d["mode_projector_frames_per_s"]
    fil = med.get("file") or t["frames_per_s"] / d["project_modes_frames_per_s"]
    return [("projection", "dynasor", f"all 256 q x 3 branches of 256-atom Cu, both in memory ({how})",
             f"{mem:.0f}x", ">= 50x", _ok(mem >= 50)),
            ("projection", "dynasor", f"same, both reading the .lammpstrj.gz ({how})", f"{fil:.0f}x", ">= 50x",
             _ok(fil >= 50))] + (
            [("projection", "dynasor", "same from the .gz, trajmodes building its projector in the call (as on a "
              "new crystal; later calls reuse it; dynasor's build is outside its times)",
              f"{t['cold_frames_per_s'] / d['project_modes_frames_per_s']:.0f}x", "(info)", "")]
            if t.get("cold_frames_per_s") else [])


def rows_peaks() -> list:
    r = _load("peaks")
    cu = next(v for k, v in r["results"].items() if k.startswith("Cu"))
    t = cu["fit_peaks (default: stars once)"]
    out = [("peaks", "DynaPhoPy", f"fit_peaks of all {cu['modes']} Cu modes, s", f"{t:.2f} s", "< 2 s", _ok(t < 2))]
    try:
        p = _load("projection")
        per_q = p["dynaphopy"]["info"]["dynaphopy_seconds"] / max(1, len(p["dynaphopy"]["qpoints"]))
        out.append(("peaks", "DynaPhoPy", "DynaPhoPy's FFT + fit per q-point (its own run), s; trajmodes per mode",
                    f"{per_q:.2f} s vs {t / cu['modes'] * 1e3:.2f} ms", "(info)", ""))
    except (OSError, KeyError):
        pass
    return out


def rows_phonons() -> list:
    r = _load("phonons")
    c, rs = r["speedup_vs_phonopy_c"]["core"], r["speedup_vs_phonopy_rust"]["core"]
    mesh = "x".join(map(str, r["case"]["mesh"]))
    return [("phonons", "phonopy (C)", f"{mesh} mesh, dynamical matrices + eigenvectors", f"{c:.2f}x", "> 1x",
             _ok(c > 1)),
            ("phonons", "phonopy (Rust)", "same", f"{rs:.2f}x", "> 1x", _ok(rs > 1))]


def rows_anharmonic() -> list:
    name = "anharmonic" if (RESULTS / "anharmonic.json").exists() else "anharmonic_quick"
    r = _load(name)
    out = []
    for key, res in r["results"].items():
        if res.get("phono3py_total_s") and not res.get("phono3py_estimated"):
            t = res.get("trajmodes_kappa_median_s") or res.get("trajmodes_linewidths_median_s")
            if t:
                ratio = res["phono3py_total_s"] / t
                out.append(("anharmonic", "phono3py", f"{res['mesh']}^3 {res['method']}: linewidths of every "
                            "irreducible q", f"{ratio:.0f}x", "> 1x", _ok(ratio > 1)))
    return out


def rows_series() -> list:
    name = "series_full" if (RESULTS / "series_full.json").exists() else "series"
    v = _load(name)["verdicts"]
    like = v.get("series_fit_bootstrap_over_single_wall")
    out = []
    if like is not None:
        out.append(("series", "the single fits", f"fit_series' fits + bootstraps / the single fits + bootstraps (wall, "
                    f"{name})", f"{like:.2f}x", "<= 1x", _ok(like <= 1.0 + 0.05)))
    out += [("series", "the single fits", "fit_series with its free energies and frequency error bars (which the "
             "single fits do not compute) / the single fits (wall)", f"{v['series_over_single_wall']:.2f}x", "(info)",
             ""),
            ("series", "", "memory flat in runs; one pass; bootstrap reads no frame",
             f"{v['peak_rss_ratio_R']:.2f}x peak RSS", "flat", _ok(v["memory_flat_in_R"] and v["one_pass"]))]
    return out


def rows_distributed() -> list:
    r = _load("distributed")
    return [("distributed", "threads", f"{name}: LocalCluster of processes", "identical" if s["identical"] else
             f"{s['max_rel_diff']:.1e}", "identical", _ok(s["identical"])) for name, s in r["stages"].items()]


def rows_fourth_order() -> list:
    r = _load("fourth_order")
    c = r["case"]
    what = (f"fc2 + fc3 + fc4 normal equations per frame ({c['atoms']}-atom Si, cutoffs "
            f"{'/'.join(f'{x:g}' for x in c['cutoffs_A'])} A), best of repeats")
    return [("fourth order", "hiPhive", what, f"{r['hiphive_over_compiled']:.0f}x", ">= 40x",
             _ok(r["hiphive_over_compiled"] >= 40)),
            ("fourth order", "numpy path", "same, trajmodes' own numpy path over its compiled kernel",
             f"{r['numpy_over_compiled']:.1f}x", "(info)", ""),
            ("fourth order", "hiPhive", "frequencies at Gamma, X, L of the two fits", f"{r['max_abs_freq_diff_THz']:.1e} THz",
             "< 1e-4 THz", _ok(r["max_abs_freq_diff_THz"] < 1e-4))]


def rows_phonopy_load() -> list:
    r = _load("phonopy_load")
    case, t, c = r["case"], r["timing"], r["checks"]
    ratio = r["speedup_vs_phonopy"]
    return [("phonopy_load", "phonopy.load", f"ForceConstants.read of a {case['yaml_MB']:.0f} MB "
             f"phonopy_params.yaml ({case['atoms']} atoms, constants in the yaml), fresh process, best of "
             f"{case['repeats']} interleaved rounds", f"{ratio:.1f}x", ">= 1x", _ok(ratio >= 1)),
            ("phonopy_load", "phonopy.load", "peak RSS (trajmodes vs phonopy); yaml parses",
             f"{t['trajmodes']['peak_rss_MB']:.0f} vs {t['phonopy']['peak_rss_MB']:.0f} MB; "
             f"{c['trajmodes_yaml_loads']}", "1 parse", _ok(c["trajmodes_yaml_loads"] == 1))]


def rows_polar() -> list:
    out = []
    for row in _load("polar")["rows"]:
        per = row["ewald_per_frame_ms"] / row["read_per_frame_ms"]
        out.append(("polar", "reading the frames", f"Ewald dipole-dipole forces / reading, per frame, "
                    f"{row['atoms']}-atom MgO, {row['frames']} frames (setup included: "
                    f"{row['ewald_total_over_read']:.2f}x)", f"{per:.2f}x", "< 1x per frame", _ok(per < 1)))
    return out


def rows_conductivity() -> list:
    r = _load("conductivity")
    out = []
    for name, x in r["results"].items():
        same = x["cutoff"] == x["sportran_cutoff"] and max(x["kappa_rel_diff_same_constants"],
                                                          x["err_rel_diff_same_constants"]) < 1e-10
        out.append(("conductivity", "SporTran", f"cepstral kappa +- error of {name}, same f*, one thread each",
                    f"{x['sportran_s'] / x['trajmodes_s']:.1f}x", ">= 1x, same result",
                    _ok(same and x["sportran_s"] >= x["trajmodes_s"])))
    return out


def rows_defaults_gan() -> list:
    r = _load("defaults_gan")
    out = []
    for t in (x for x in r["timings"] if x["code"] == "this"):
        out.append(("defaults_gan", "a minute on 2 cores", f"{t['command']} on wurtzite GaN, 576 atoms (4 per cell), "
                    f"round {t['round']}; CPU {t['cpu_s']:.0f} s, load {t['load_before']:.1f}-{t['load_after']:.1f}",
                    f"{t['wall_s']:.0f} s", "<= 75 s", _ok(t["wall_s"] <= 75)))
    p = r.get("phono3py")
    if p:
        out.append(("defaults_gan", "phono3py", f"the linewidths of the default 12^3 mesh (tetrahedra), {p['q_points']} "
                    f"irreducible q timed, all {p['triplets_all']} triplets estimated",
                    f"{p['phono3py_subset_s'] / p['trajmodes_subset_s']:.0f}x", "faster",
                    _ok(p["phono3py_subset_s"] > p["trajmodes_subset_s"])))
    return out


def rows_normal_equations() -> list:
    r = _load("normal_equations")
    return [("normal_equations", "large-k dsyrk", f"the fit's A'A per frame at P = {m['n_params']} (512-atom Si, r2 "
             f"{m['r2']:g} r3 {m['r3']:g}; {m['flops_per_frame'] / 1e6:.0f} Mflop; {m['rows_per_update']} rows per "
             f"update, before {m['rows_per_update_before']}: {m['ratio_before']:.2f}x)", f"{m['ratio']:.2f}x",
             "<= 1.25x at P >= 1,000" if m["n_params"] >= 1000 else "(rows dominate below P = 1,000)",
             _ok(m["ratio"] <= 1.25) if m["n_params"] >= 1000 else "-")
            for m in r["models"]]

def rows_scaling() -> list:
    r = _load("scaling")
    return [("scaling", f"1 core ({row['mode']})", f"{row['command']} at {row['cores']} cores, {r['atoms']:,} atoms "
             f"({r['cores_available']}-core machine; {row['mb_s_per_core']:.0f} MB/s per core)",
             f"{100 * row['efficiency']:.0f} % efficiency", ">= 70 % at 16 cores" if row["cores"] >= 16 else "(info)",
             _ok(row["efficiency"] >= 0.7) if row["cores"] >= 16 else "-")
            for row in r["rows"] if row.get("efficiency") is not None and row["cores"] > 1]


def rows_sqw() -> list:
    r = _load("structure_factor_large")["speed"]
    from statistics import median
    cpu_read = median(x["trajmodes_cpu"] / x["read_cpu"] for x in r["rounds"])
    case = (f"S(q, omega), F(q, t), C_L, C_T of {r['atoms']:,} Cu atoms x {r['frames']} frames, {r['n_q']} q (path + "
            f"powder), windows of {r['window']}; warm, median of {len(r['rounds'])} interleaved rounds")
    return [("sqw", "dynasor", f"{case}, wall (CPU seconds: {r['ratio_cpu']['median']:.1f}x)",
             f"{r['ratio']['median']:.1f}x", ">= 20x", _ok(r["ratio"]["median"] >= 20)),
            ("sqw", "reading the frames", f"same, trajmodes / its reader alone (x, v), wall (CPU seconds: "
             f"{cpu_read:.2f}x)", f"{r['over_read']['median']:.2f}x", "<= 1.5x",
             _ok(r["over_read"]["median"] <= 1.5))]


STAGES = {
    "fit": dict(cmd=["bench_fit.py"], quick=["bench_fit.py", "--no-memory", "--no-scaling", "--rounds", "5"],
                results=["fit"], rows=rows_fit),
    "readers": dict(cmd=["bench_readers.py", "--cleanup"], quick=["bench_readers.py", "--size-gb", "0.25",
                                                                  "--big-gb", "0.5", "--cleanup"],
                    results=["readers"], rows=rows_readers),
    "first_read": dict(cmd=["bench_first_read.py", "--rounds", "5", "--cleanup"],
                       quick=["bench_first_read.py", "--rounds", "1", "--cleanup"], results=["first_read"],
                       rows=rows_first_read),
    "projection": dict(cmd=["bench_projection.py", "--repeat", "9"], quick=["bench_projection.py", "--repeat", "3"],
                       results=["projection"], rows=rows_projection),
    "peaks": dict(cmd=["bench_peaks.py", "--repeats", "5"], quick=["bench_peaks.py", "--repeats", "3"],
                  results=["peaks"], rows=rows_peaks),
    "phonons": dict(cmd=["bench_phonons.py", "--repeats", "7"], quick=["bench_phonons.py", "--repeats", "3"],
                    results=["phonons"], rows=rows_phonons),
    "phonopy_load": dict(cmd=["bench_phonopy_load.py", "--repeats", "3"],
                         quick=["bench_phonopy_load.py", "--repeats", "1"], results=["phonopy_load"],
                         rows=rows_phonopy_load),
    "anharmonic": dict(cmd=["bench_anharmonic.py"], quick=["bench_anharmonic.py", "--quick"],
                       results=["anharmonic"], rows=rows_anharmonic),
    "series": dict(cmd=["bench_series.py", "--repeats", "2"], quick=["bench_series.py", "--runs", "1,2",
                                                                     "--frame-counts", "1000", "--compare-runs", "2"],
                   results=["series", "series_full"], rows=rows_series),
    "fourth_order": dict(cmd=["bench_fourth_order.py", "--repeats", "5"], quick=["bench_fourth_order.py"],
                         results=["fourth_order"], rows=rows_fourth_order),
    "polar": dict(cmd=["bench_polar.py", "--cells", "3", "4", "6"], quick=["bench_polar.py", "--cells", "3"],
                  results=["polar"], rows=rows_polar),
    "conductivity": dict(cmd=["bench_conductivity.py", "--repeats", "5"],
                         quick=["bench_conductivity.py", "--repeats", "2", "--steps", "1000000"],
                         results=["conductivity"], rows=rows_conductivity),
    "distributed": dict(cmd=["bench_distributed.py"], quick=["bench_distributed.py"], results=["distributed"],
                        rows=rows_distributed),
    "normal_equations": dict(cmd=["bench_normal_equations.py", "--rounds", "3"],
                             quick=["bench_normal_equations.py", "--rounds", "1", "--models", "9:8,10:10"],
                             results=["normal_equations"], rows=rows_normal_equations),
    "scaling": dict(cmd=["bench_scaling.py", "--workers"], quick=["bench_scaling.py", "--cells", "12", "--size-gb",
                                                                  "0.1", "--commands", "fit,run"],
                    results=["scaling"], rows=rows_scaling),
    "sqw": dict(cmd=["bench_structure_factor.py", "--large", "--frames", "1000", "--window", "250", "--rounds", "2"],
                quick=["bench_structure_factor.py", "--large", "--frames", "300", "--window", "150", "--rounds", "1"],
                results=["structure_factor_large"], rows=rows_sqw),
    "defaults_gan": dict(cmd=["bench_defaults_gan.py", "--bulk-check", "48", "--phono3py-subset", "2"],
                         quick=["bench_defaults_gan.py", "--dense"], results=["defaults_gan"], rows=rows_defaults_gan),
}


def environment() -> dict:
    import numpy as np
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
               platform.processor()) if os.path.exists("/proc/cpuinfo") else platform.processor()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9 if hasattr(os, "sysconf") else float("nan")
    return dict(date=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), cpu=cpu, cores=os.cpu_count(),
                ram_GB=round(mem, 1), python=platform.python_version(), numpy=np.__version__,
                platform=platform.platform())


def run_stage(name: str, quick: bool) -> dict:
    spec = STAGES[name]
    args = spec["quick" if quick else "cmd"]
    cmd = [sys.executable, str(HERE / args[0]), *args[1:]]
    shown = "python benchmarks/" + " ".join(shlex.quote(a) for a in args)
    print(f"== {name}: {shown}", flush=True)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    rec = dict(command=shown, seconds=time.perf_counter() - t0, load_before=load0, load_after=os.getloadavg()[0],
               returncode=p.returncode, date=time.strftime("%Y-%m-%d %H:%M"))
    if p.returncode:
        rec["error"] = (p.stderr or p.stdout)[-2000:]
        print(f"   failed ({p.returncode}):\n{rec['error']}", flush=True)
    else:
        print(f"   done in {rec['seconds']:.0f} s", flush=True)
    return rec


def summary(runs: dict, env: dict) -> str:
    have = [name for name in STAGES if name in runs or any((RESULTS / f"{r}.json").exists()
                                                              for r in STAGES[name]["results"])]
    L = [BEGIN, "", "## Summary", "",
         f"`python benchmarks/run_all.py` on {env['cpu']}, {env['cores']} cores, {env['ram_GB']} GB; Python "
         f"{env['python']}, numpy {env['numpy']}. Every stage ran in its own process, one after the other; its date, "
         "command and the load average (1 min) before and after are in the second table. Ratios are the peer's time "
         "over trajmodes' on the same input in the same run.", "",
         "| stage | peer | compared | measured | target | verdict |", "|---|---|---|---|---|---|"]
    for name in have:
        try:
            for r in STAGES[name]["rows"]():
                L.append("| " + " | ".join(str(x) for x in r) + " |")
        except (OSError, KeyError, ValueError, StopIteration) as exc:
            L.append(f"| {name} | | no result ({exc!r}) | | | **FAIL** |")
    L += ["", "| stage | date | command | seconds | load before | load after |", "|---|---|---|---|---|---|"]
    for name in have:
        rec = runs.get(name)
        if rec is None:
            L.append(f"| {name} | (saved results of an earlier run: see its table) | | | | |")
            continue
        status = "" if not rec.get("returncode") else f" (exit {rec['returncode']})"
        L.append(f"| {name} | {rec.get('date', '')} | `{rec['command']}`{status} | {rec['seconds']:.0f} | "
                 f"{rec['load_before']:.2f} | {rec['load_after']:.2f} |")
    runs = {name: None for name in have}
    for name in runs:
        for res in STAGES[name]["results"]:
            md = RESULTS / f"{res}.md"
            if md.exists():
                L += ["", f"### {name}: `benchmarks/results/{res}.md`", "", _embedded(md.read_text().strip())]
    L += ["", END]
    return "\n".join(L)


def _embedded(markdown: str) -> str:
    """A stage's table, written under its own ``###`` heading of docs/benchmarks.md: the table's headings three levels
    further down (its title ``#`` becomes ``####``), so that the page keeps one title and the site's navigation lists
    the page, not the tables' titles."""
    out, fenced = [], False
    for line in markdown.splitlines():
        fenced ^= line.lstrip().startswith("```")
        if not fenced and line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            if line[level:level + 1] == " ":
                line = "#" * min(level + 3, 6) + line[level:]
        out.append(line)
    return "\n".join(out)


def write_docs(block: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        lines = text.split("\n", 1)
        text = lines[0] + "\n\n" + block + "\n" + (lines[1] if len(lines) > 1 else "")
    tmp = DOCS.with_suffix(".md.tmp")
    tmp.write_text(text)
    os.replace(tmp, DOCS)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the short variant of every stage")
    ap.add_argument("--only", default="", help="comma-separated stages to run (default all)")
    ap.add_argument("--skip", default="", help="comma-separated stages to leave out")
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    ap.add_argument("--report", action="store_true", help="rewrite the summary from the saved results, run nothing")
    args = ap.parse_args(argv)
    names = [s for s in (args.only.split(",") if args.only else STAGES) if s]
    unknown = [s for s in names + [s for s in args.skip.split(",") if s] if s not in STAGES]
    if unknown:
        ap.error(f"unknown stage(s) {unknown}; the stages are {list(STAGES)}")
    names = [s for s in names if s not in args.skip.split(",")]
    env = dict(environment(), quick=args.quick)
    log = RESULTS / "run_all.json"
    runs = json.loads(log.read_text())["runs"] if log.exists() else {}       # the other stages' records are kept
    if not args.report:
        for name in names:
            runs[name] = run_stage(name, args.quick)
        RESULTS.mkdir(parents=True, exist_ok=True)
        log.write_text(json.dumps(dict(env=env, runs=runs), indent=1) + "\n")
    block = summary(runs, env)
    print(block)
    if not args.no_docs:
        write_docs(block)
        print(f"wrote {DOCS.relative_to(ROOT)}")
    return 0 if all(not r.get("returncode") for r in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
