"""Under ``--dist loadfile`` the suite's slowest files start first (tests/support/slow_first.py), so that a file of a
few long tests does not start last and keep one worker busy while the other idles."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import slow_first

ROOT = Path(__file__).resolve().parents[1]


def test_file_order_puts_the_slow_files_first_then_the_most_tests_first():
    paths = ["b.py"] * 2 + ["a.py"] * 3 + ["long.py"] + ["c.py"] * 2 + ["longer.py"] * 2
    assert slow_first.file_order(paths, slow=("longer.py", "absent.py", "long.py")) == [
        "longer.py", "long.py", "a.py", "b.py", "c.py"]                    # b before c: the same count, collected first
    assert slow_first.file_order(paths, slow=()) == ["a.py", "b.py", "c.py", "longer.py", "long.py"]


def test_the_suite_lists_files_it_has():
    for name in slow_first.SLOW_FILES:
        assert (ROOT / name).is_file(), f"{name} of tests/support/slow_first.py's SLOW_FILES is not a test file"
    assert len(set(slow_first.SLOW_FILES)) == len(slow_first.SLOW_FILES)


#: a suite of four files for two workers: the one of a single test is the slow one
_SUITE = {
    "test_a.py": 5,
    "test_b.py": 4,
    "test_c.py": 3,
    "test_one_long.py": 1,
}

_CONFTEST = '''
import os
from tests.support import slow_first
if os.environ.get("SLOW_FIRST_HOOKED") == "1":
    slow_first.SLOW_FILES = ("test_one_long.py",)
    pytest_configure = slow_first.pytest_configure
    pytest_collection_modifyitems = slow_first.pytest_collection_modifyitems
    pytest_configure_node = slow_first.pytest_configure_node
'''

_TEST = '''
import os
import pytest

@pytest.mark.parametrize("k", range({n}))
def test_it(k):
    with open(os.environ["SLOW_FIRST_LOG"], "a") as log:
        log.write(os.environ["PYTEST_XDIST_WORKER"] + " " + __name__ + "\\n")
'''


def _first_files(tmp_path: Path, hooked: bool, *options: str) -> dict[str, list[str]]:
    """Run the suite of :data:`_SUITE` on two workers; the files each worker ran, in the order it started them."""
    folder = tmp_path / ("hooked" if hooked else "plain")
    folder.mkdir()
    (folder / "pytest.ini").write_text("[pytest]\n")
    (folder / "conftest.py").write_text(_CONFTEST)
    for name, n in _SUITE.items():
        (folder / name).write_text(_TEST.format(n=n))
    log = folder / "log.txt"
    env = dict(os.environ, PYTHONPATH=str(ROOT), SLOW_FIRST_LOG=str(log), SLOW_FIRST_HOOKED="1" if hooked else "0")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist",
                           "loadfile", *options], cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    files: dict[str, list[str]] = {}
    for line in log.read_text().splitlines():
        worker, module = line.split()
        if module not in files.setdefault(worker, []):
            files[worker].append(module)
    assert sorted(m for ms in files.values() for m in ms) == sorted(n[:-3] for n in _SUITE)
    return files


@pytest.mark.slow
def test_a_worker_starts_with_the_slow_file_and_xdist_alone_starts_it_last(tmp_path):
    hooked = _first_files(tmp_path, True)
    assert "test_one_long" in [ms[0] for ms in hooked.values()], hooked
    plain = _first_files(tmp_path, False)                                  # xdist's order: the most tests first
    assert "test_one_long" not in [ms[0] for ms in plain.values()], plain
    assert any(ms[-1] == "test_one_long" for ms in plain.values()), plain
