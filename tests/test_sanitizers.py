"""The compiled extensions built with AddressSanitizer and UndefinedBehaviorSanitizer, and the tests that drive
them run on that build in a child process: a read or write out of bounds, a use after free or undefined arithmetic
in the parser, the projection, the tetrahedron weights or the design rows fails the suite. Skipped where the compiler
has no sanitizers."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.support.paths import ROOT

pytestmark = pytest.mark.slow        # builds the extensions (~40 s) and runs their tests under the sanitizers

#: the tests that call the compiled kernels: the guards (and the tetrahedron weights against numpy's), the parser
#: (every dump layout), the projection and the fit's design rows
KERNEL_TESTS = ["tests/test_kernels.py", "tests/io/test_lammps_dump.py", "tests/io/test_broken_lammps.py", "tests/modes/test_projection.py",
                "tests/forceconstants/test_fitting.py"]


def _runtime(name: str) -> str | None:
    cc = shutil.which(os.environ.get("CC", "gcc"))
    if cc is None:
        return None
    out = subprocess.run([cc, f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
    return out if os.path.isabs(out) and os.path.exists(out) else None


def _levels(repo) -> set[str]:
    """The optimisation levels the compiled kernels of ``repo`` were built at: the last -O of each compilation unit's
    options, as GCC records them in the debug information (read by ``readelf``); empty where neither is there."""
    readelf = shutil.which("readelf")
    if readelf is None:
        return set()
    out = set()
    for so in sorted((repo / "trajmodes").glob("_*.so")):
        info = subprocess.run([readelf, "--debug-dump=info", str(so)], capture_output=True, text=True).stdout
        out |= {re.findall(r" -O(\S*)", line)[-1] for line in info.splitlines() if "DW_AT_producer" in line
                and " -O" in line}
    return out


def test_kernels_are_clean_under_address_and_undefined_behaviour_sanitizers(tmp_path):
    asan, ubsan = _runtime("libasan.so"), _runtime("libubsan.so")
    if asan is None or ubsan is None:
        pytest.skip("the C compiler has no AddressSanitizer / UndefinedBehaviorSanitizer runtime")
    copy = tmp_path / "repo"
    ignore = shutil.ignore_patterns("*.so", "__pycache__", ".git", "build", "*.egg-info", "benchmarks",
                                    "docs", "*.nc")
    copy.mkdir()
    for item in ("setup.py", "pyproject.toml", "README.md", "trajmodes", "tests", "examples"):
        src = ROOT / item
        (shutil.copytree(src, copy / item, ignore=ignore) if src.is_dir() else shutil.copy2(src, copy / item))
    # -O1, as the flags below ask: setup.py's own level (-O3) comes after CFLAGS on the compiler's command line and
    # would win, and at -O3 the instrumented _density.c alone takes 12 s of CPU to compile (all five at -O1: 3 s)
    setup_py = copy / "setup.py"
    setup_py.write_text(re.sub(r'"-O[0-9s]"', '"-O1"', setup_py.read_text()))
    flags = "-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -O1 -g"
    env = dict(os.environ, CFLAGS=flags, LDFLAGS="-fsanitize=address,undefined")
    build = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=copy, env=env,
                           capture_output=True, text=True)
    if build.returncode != 0:
        pytest.fail(f"the sanitizer build failed:\n{build.stderr[-3000:]}")
    assert _levels(copy) <= {"1"}, f"the kernels under the sanitizers were not built at -O1 alone: {_levels(copy)}"
    wanted = [t for t in KERNEL_TESTS if (copy / t).exists()]
    env = dict(os.environ, PYTHONPATH=str(copy), LD_PRELOAD=f"{asan}:{ubsan}",
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    # not the Dask cluster tests: worker processes under the preloaded sanitizer runtime can hang at start-up, and
    # they run no kernel code that the threaded tests do not; not the one test that bounds an acoustic frequency at
    # Gamma by 1e-7 THz: the -O1 sanitizer build rounds differently (measured 1.01e-7), which is no memory error
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", "not slow",
                          "-k", "not distributed and not cluster and not exact_diamond_harmonic_sequential", *wanted],
                         cwd=copy, env=env, capture_output=True, text=True, timeout=900)
    tail = (run.stdout + run.stderr)[-4000:]
    assert run.returncode == 0, f"the kernels' tests under the sanitizers failed:\n{tail}"
    assert "ERROR: AddressSanitizer" not in run.stderr and "runtime error" not in run.stderr, tail
    assert " passed" in run.stdout, tail
