"""The program's allocator setting (resources.return_freed_memory): made on glibc, left alone where the environment
sets glibc's own variables; checked in child processes, so that the test process keeps its allocator."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHILD = "from trajmodes.resources import return_freed_memory; print(return_freed_memory())"


def _child(**env) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env=dict(clean, **env))
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def _glibc() -> bool:
    try:
        return sys.platform.startswith("linux") and bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError, AttributeError):
        return False


@pytest.mark.skipif(not _glibc(), reason="glibc's mallopt")
def test_set_on_glibc_unless_the_environment_sets_it():
    assert _child() == "True"
    assert _child(MALLOC_ARENA_MAX="4") == "False"
    assert _child(MALLOC_MMAP_THRESHOLD_="4194304") == "False"
    assert _child(MALLOC_TRIM_THRESHOLD_="0") == "False"
