"""A command is settings in, a result out: ``trajmodes run``, ``fit`` and ``conductivity`` done in a few lines of Python
(settings -> the workflow -> ``result.write(folder)``) write the same files, with the same numbers and provenance, as
the command on the same input; and a command is defined by its module of trajmodes.cli alone."""
import numpy as np
import pytest
import xarray as xr

import trajmodes
from tests.support.paths import DATA
from trajmodes.cli import main

# The 20-frame runs fitted here (cu32, 0.2 ps) are far shorter than their correlation time: the blocking analysis
# says the fit's error bars are lower bounds, as in tests/cli/test_cli.py
pytestmark = pytest.mark.filterwarnings("ignore:the error of the fit still grows at the longest blocks:UserWarning")

CU32 = str(DATA / "cu32_xu.lammpstrj")
CU32_READ = ["--species", "Cu", "--md-timestep", "0.001"]

#: provenance attributes that differ between two writes of one result (when), or that only the command line knows
#: (the options the run was read with)
_WHEN = {"created"}


def _same_files(cli, python, read_options=()):
    """The folders hold the same files; every netCDF file the same variables with the same values and the same
    provenance (but its time, and the read options only the command line states)."""
    names = sorted(p.name for p in cli.iterdir())
    assert names == sorted(p.name for p in python.iterdir())
    compared = 0
    for name in names:
        if not name.endswith(".nc"):
            assert (python / name).stat().st_size > 0
            continue
        a, b = xr.load_dataset(cli / name), xr.load_dataset(python / name)
        assert set(a.variables) == set(b.variables), name
        for v in a.variables:
            if a[v].dtype.kind in "fciu":
                np.testing.assert_allclose(a[v].values, b[v].values, rtol=1e-10, atol=1e-12, err_msg=f"{name}: {v}")
            else:
                assert np.array_equal(a[v].values, b[v].values), f"{name}: {v}"
        skip = _WHEN | {f"setting_{k}" for k in read_options} | {"source_fingerprint"}
        assert {k for k in a.attrs if k not in skip} == {k for k in b.attrs if k not in skip}, name
        for k in a.attrs:
            if k in skip:
                continue
            x, y = np.atleast_1d(a.attrs[k]), np.atleast_1d(b.attrs[k])
            if x.dtype.kind in "fiu":          # sums over Dask tasks: the same to round-off
                np.testing.assert_allclose(x, y, rtol=1e-10, err_msg=f"{name}: {k}")
            else:
                assert np.array_equal(x, y), f"{name}: {k}"
        compared += 1
    return compared


def test_fit_in_python_writes_the_files_of_the_command(tmp_path):
    from trajmodes.workflows.fit import FitSettings, fit_runs
    assert main(["fit", CU32, *CU32_READ, "--cutoff2", "3.0", "-o", str(tmp_path / "cli")]) == 0
    traj = trajmodes.read(CU32, species=["Cu"], md_timestep=0.001, reference="average")
    result = fit_runs([traj], FitSettings(cutoff2=3.0))
    written = result.write(tmp_path / "python")
    assert [p.rsplit("/", 1)[-1] for p in written] == ["fc.nc", "fc.scores.nc", "fc.cutoffs.nc", "fc.png"]
    read = ("reference", "units", "lj_scales", "md_timestep", "frame_interval", "species", "masses")
    assert _same_files(tmp_path / "cli", tmp_path / "python", read) == 3


def test_run_in_python_writes_the_files_of_the_command(tmp_path):
    from trajmodes.workflows.fit import FitSettings
    from trajmodes.workflows.run import RunSettings, run
    assert main(["run", CU32, *CU32_READ, "--cutoff2", "3.0", "-o", str(tmp_path / "cli")]) == 0
    traj = trajmodes.read(CU32, species=["Cu"], md_timestep=0.001, reference="average")
    result = run(traj, RunSettings(output=tmp_path / "python", fit=FitSettings(cutoff2=3.0)))
    result.write(tmp_path / "python")
    read = ("reference", "units", "lj_scales", "md_timestep", "frame_interval", "species", "masses")
    assert _same_files(tmp_path / "cli", tmp_path / "python", read) == 5     # the cache, summary and fc's three


def test_conductivity_in_python_writes_the_files_of_the_command(tmp_path):
    from trajmodes.workflows.transport import ConductivitySettings, conductivity
    table = str(DATA / "sportran" / "NaCl.dat.gz")
    assert main(["conductivity", table, "--other", "vcm[1]", "--volume", "65013.301261", "--frame-interval", "0.005",
                 "--fstar", "14", "-o", str(tmp_path / "cli")]) == 0
    settings = ConductivitySettings(files=(table,), others=("vcm[1]",), volume=65013.301261, frame_interval=0.005,
                                    fstar=14.0)
    written = conductivity(table, settings).write(tmp_path / "python")
    assert [p.rsplit("/", 1)[-1] for p in written] == ["cepstral.nc", "green_kubo.nc", "conductivity.png"]
    assert _same_files(tmp_path / "cli", tmp_path / "python") == 2


def test_settings_refuse_what_the_command_refuses():
    """The settings say what is wrong where they are made, before any work, in the command line's words."""
    from trajmodes.workflows.fit import FitSettings
    from trajmodes.workflows.transport import ConductivitySettings
    with pytest.raises(ValueError, match="--cutoff4 fits the fourth order after the third"):
        FitSettings(cutoff4=2.6)
    with pytest.raises(ValueError, match="not both"):
        ConductivitySettings(force_constants="fc.nc", cutoff3=5.0)
    with pytest.raises(ValueError, match="give --cutoff3 too"):
        ConductivitySettings(cutoff4=4.0)


def test_each_command_is_defined_by_its_module_alone():
    """A command's parser, its example and its function come from its module of trajmodes.cli, named by one line of
    ``cli.app.PARSERS``: the package finds each command's function through the parsers (no list of imports), and the
    reference's examples are the parsers' (no second table)."""
    import importlib
    import trajmodes.cli as cli
    from trajmodes.cli.app import PARSERS, build_parser
    from trajmodes.cli.reference import EXAMPLES
    _, cmds = build_parser()
    assert list(EXAMPLES) == list(cmds) and len(cmds) == len(PARSERS)
    modules = set()
    for name, parser in cmds.items():
        func = parser.get_default("func")
        assert getattr(cli, func.__name__) is func
        assert parser.example == EXAMPLES[name] and parser.example.startswith(f"trajmodes {name} ")
        modules.add(func.__module__)
    assert modules == {importlib.import_module(f"trajmodes.cli.{m}").__name__ for m, _ in PARSERS}
