"""What a user meets when a command goes wrong: one line and status 2, the subcommand's usage for a mistyped
option, no output folder or partial file after a failure or an interruption, and provenance in every file."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import netCDF4
import numpy as np
import pytest

from tests.support.paths import DATA, EXAMPLES, ROOT
from trajmodes import cli
from trajmodes.cli import main

# The 20-frame runs these commands fit (cu32, 0.2 ps) are far shorter than their correlation time, so the fit's
# blocking analysis says its error bars are lower bounds: true and expected here (asserted in
# tests/io/test_provenance.py::test_run_files); the commands' other warnings stay visible
pytestmark = pytest.mark.filterwarnings("ignore:the error of the fit still grows at the longest blocks:UserWarning")

EX = EXAMPLES
CU32 = str(DATA / "cu32_xu.lammpstrj")
RUN = ["run", CU32, "--species", "Cu", "--md-timestep", "0.001"]


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _one_line_error(capsys, must: str) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("trajmodes: ")]
    assert len(lines) == 1 and lines[0].startswith("trajmodes: error: ") and must in lines[0], err
    assert "Traceback" not in err
    return lines[0]


def test_missing_file_is_one_line(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nothere.lammpstrj")]) == 2
    _one_line_error(capsys, "nothere.lammpstrj")


def test_import_error_is_one_line(tmp_path, capsys, monkeypatch):
    def missing(path):
        raise ImportError("No module named 'phonopy'", name="phonopy")
    monkeypatch.setattr("trajmodes.workflows.reading.load_force_constants", missing)
    assert main(["phonons", str(EX / "fc" / "cu_eam"), "-o", str(tmp_path / "ph")]) == 2
    _one_line_error(capsys, "pip install phonopy")
    assert not (tmp_path / "ph").exists()


def test_unexpected_error_says_bug_and_debug_shows_it(tmp_path, capsys, monkeypatch):
    def broken(*a, **k):
        raise ZeroDivisionError("division by zero")
    monkeypatch.setattr("trajmodes.workflows.lattice_dynamics.phonon_properties", broken)
    args = ["phonons", str(EX / "fc" / "cu_eam"), "-o", str(tmp_path / "ph")]
    assert main(args) == 2
    assert "--debug" in _one_line_error(capsys, "ZeroDivisionError")
    with pytest.raises(ZeroDivisionError):
        main(["--debug", *args])


def test_failed_run_leaves_nothing(tmp_path, capsys, monkeypatch):
    """The fit fails after the cache, summary and figure were written: none of them may appear."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    assert main([*RUN, "--compare", str(tmp_path / "no_such_fc"), "-o", str(out)]) == 2
    _one_line_error(capsys, "no_such_fc")
    assert _listing(tmp_path) == []


def test_failed_run_keeps_an_existing_folder_as_it_was(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.nc").write_text("from an earlier run")
    (out / "notes.txt").write_text("mine")
    assert main([*RUN, "--compare", str(tmp_path / "no_such_fc"), "-o", str(out)]) == 2
    assert _listing(tmp_path) == ["out", "out/notes.txt", "out/summary.nc"]
    assert (out / "summary.nc").read_text() == "from an earlier run"


def test_interrupt_keeps_the_finished_cache_and_nothing_else(tmp_path, capsys, monkeypatch):
    """Ctrl-C after the cache was written: the cache is kept in -o (the next run reuses it), nothing else is
    written, and no staging folder is left."""
    import trajmodes.plots as plots

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(plots, "plot_summary", interrupted)
    assert main([*RUN, "--no-fit", "-o", str(tmp_path / "out")]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "kept" in err and "trajectory.nc" in err
    assert _listing(tmp_path) == ["out", "out/trajectory.nc"]


def test_sigterm_leaves_nothing(tmp_path):
    """A real SIGTERM in the middle of writing the cache: status 143, no file, no temporary."""
    code = ("import os, signal, sys\n"
            "import trajmodes.io.trajectories.netcdf as n\n"
            "real = n.define_cache\n"
            "def define(*a, **k):\n"
            "    real(*a, **k)\n"
            "    os.kill(os.getpid(), signal.SIGTERM)\n"
            "n.define_cache = define\n"
            "from trajmodes.cli import main\n"
            f"sys.exit(main(['convert', {CU32!r}, '--md-timestep', '0.001', '-o', 'out']))\n")
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert res.returncode == 143, res.stderr
    assert "terminated" in res.stderr and "Traceback" not in res.stderr
    assert _listing(tmp_path) == []


def test_mistyped_option_shows_the_subcommand_usage(capsys):
    with pytest.raises(SystemExit) as e:
        main(["phonons", str(EX / "fc" / "cu_eam"), "--meshh", "8"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "usage: trajmodes phonons" in err and "--meshh" in err


def test_figure_format_has_one_name(capsys):
    with pytest.raises(SystemExit):
        main(["phonons", str(EX / "fc" / "cu_eam"), "--format", "png"])
    assert "--plot-format" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", CU32, "--format", "pdf"])
    assert "--plot-format pdf" in capsys.readouterr().err
    for cmd in ("run", "fit", "phonons", "eam", "lifetimes"):
        assert "--plot-format" in cli.build_parser()[1][cmd].format_help()


@pytest.mark.parametrize("args, words", [
    (["convert", CU32, "--stride", "0", "-o", "x"], "at least 1"),
    (["convert", CU32, "--stride", "-2", "-o", "x"], "at least 1"),
    (["fit", CU32, "--cutoff2", "-3"], "positive"),
    (["fit", CU32, "--cutoff2", "nan"], "positive"),
    (["phonons", "x", "--mesh", "0"], "mesh must be"),
    (["phonons", "x", "--temperatures", "100:0:10"], "temperatures must be"),
])
def test_bad_option_values(args, words, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2 and words in capsys.readouterr().err


def test_convert_start_beyond_the_end(tmp_path, capsys):
    assert main(["convert", CU32, "--md-timestep", "0.001", "--start", "500", "-o", str(tmp_path / "x")]) == 2
    _one_line_error(capsys, "beyond the last frame")
    assert _listing(tmp_path) == []


# ----------------------------------------------------------------------------- provenance
def _attrs_are_real(path: Path) -> dict:
    with netCDF4.Dataset(path) as ds:
        attrs = {k: ds.getncattr(k) for k in ds.ncattrs()}
        for v in ds.variables.values():
            for k in v.ncattrs():
                attrs[f"{v.name}:{k}"] = v.getncattr(k)
    for k, v in attrs.items():
        text = str(v)
        assert not any(s in text for s in ("{'", "array(", "np.", "dtype")), (path.name, k, text)
    return attrs


def test_every_file_has_provenance(tmp_path):
    out = tmp_path / "out"
    assert main([*RUN, "--cutoff2", "3.5", "-o", str(out)]) == 0
    assert main(["phonons", str(EX / "fc" / "cu_eam"), "-o", str(tmp_path / "ph"), "--mesh", "6", "--npoints", "5",
                 "--temperatures", "0:300:100"]) == 0
    files = sorted(out.glob("*.nc")) + sorted((tmp_path / "ph").glob("*.nc"))
    assert [f.name for f in files] == ["fc.cutoffs.nc", "fc.nc", "fc.scores.nc", "summary.nc", "trajectory.nc", "band.nc", "dos.nc",
                                       "thermal.nc"]
    for f in files:
        a = _attrs_are_real(f)
        assert a["trajmodes_version"] and a["created"].endswith("+00:00"), f.name
        assert a["inputs"], f.name
    fc = _attrs_are_real(out / "fc.nc")
    assert fc["setting_cutoff2"] == 3.5 and fc["setting_mode"] == "sequential" and fc["setting_frames"] == 20
    assert 200 < fc["temperature_K"] < 500 and fc["inputs"].endswith("cu32_xu.lammpstrj")
    assert isinstance(fc["setting_cutoff2"], (float, np.floating))
    ph = _attrs_are_real(tmp_path / "ph" / "band.nc")
    assert list(ph["setting_mesh"]) == [6, 6, 6] and ph["setting_npoints"] == 5


def test_run_reads_the_comparison_first_with_its_own_progress_line(tmp_path, capsys):
    """A missing --compare file fails before the summary, cache or fit is computed; a present one is read under its
    own progress line, not counted as fitting time."""
    assert main([*RUN, "--compare", str(tmp_path / "no_such_fc"), "-o", str(tmp_path / "out")]) == 2
    text = capsys.readouterr()
    assert "writing the netCDF cache" not in text.out + text.err and "fitting" not in text.out + text.err
    from tests.support.paths import EXAMPLES
    assert main([*RUN, "--compare", str(EXAMPLES / "fc" / "cu_eam"), "-o", str(tmp_path / "ok")]) == 0
    text = capsys.readouterr()
    both = text.out + text.err
    assert both.index("reading the force constants to compare with") < both.index("fitting the effective")
