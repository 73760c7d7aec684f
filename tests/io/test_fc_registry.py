"""The registry of force-constant formats (trajmodes.forceconstants.formats, filled from the package's entry point with
trajmodes.io.forceconstants.registry.FORMATS): every format's ``can_open`` takes its own files and folders and no other
format's; detection by name is what it was, and a hiPhive file of another name is known by its first bytes (a tar
archive). ``ForceConstants.read`` and ``write`` take each format's options and refuse others, naming the format.

Files: the test data (TDEP runs, a phono3py dataset, the phonopy examples), and files of every format written by the
writer its format declares (cu on a non-diagonal, shuffled supercell; test_fc_formats.py's case).
"""
from __future__ import annotations

import shutil
import tarfile
import warnings

import numpy as np
import pytest

from tests.io.test_fc_formats import _case
from tests.support.paths import DATA, EXAMPLES
from trajmodes import ForceConstants, Phonons
from trajmodes.forceconstants.formats import (HEAD_BYTES, detect_fc_format, fc_format, format_names, format_options,
                                              registered_formats)

#: the registered formats, in their order
FORMATS = registered_formats()

#: folders of the test data and examples, by format
DATA_FOLDERS = {"tdep": [DATA / "tdep_mgo", DATA / "tdep_canonical_configuration", DATA / "tdep_anharmonic_free_energy",
                         DATA / "tdep_thermal_conductivity" / "tdep_run", DATA / "tdep_dump_dynamical_matrices"],
                "phono3py": [DATA / "phono3py_si_pbesol"],
                "phonopy": [EXAMPLES / "fc" / "cu_eam", EXAMPLES / "fc" / "si_sw"]}
#: the file (one-file formats) or folder each declared writer writes to
TARGETS = {"netcdf": "fc.nc", "hiphive": "fc.fcs"}


def _head(path) -> bytes:
    if path.is_dir():
        return b""
    with open(path, "rb") as f:
        return f.read(HEAD_BYTES)


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> dict[str, list]:
    """format name -> the folders and files of that format: those of the test data, and those its writer wrote."""
    tmp = tmp_path_factory.mktemp("formats")
    fc = _case("cu_nondiag")
    paths = {f.name: list(DATA_FOLDERS.get(f.name, [])) for f in FORMATS}
    for f in FORMATS:
        if f.name in ("phonopy", "phono3py", "hiphive"):
            pytest.importorskip(f.name)
        target = tmp / TARGETS.get(f.name, f.name)
        written = ForceConstants(fc.fc2, fc.supercell, fc.primitive) if f.name == "phonopy" else fc
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")                  # ShengBTE's non-diagonal warning, phonopy's own
            written.write(target, f.name)
        paths[f.name].append(target)
    for name, folders in list(paths.items()):                # the files of each folder whose names say a format
        for folder in [p for p in folders if p.is_dir()]:
            for file in sorted(folder.iterdir()):
                owner = [f.name for f in FORMATS if f.knows_name(file.name)]
                assert len(owner) <= 1, (file, owner)        # file names say one format only
                if owner:
                    paths[owner[0]].append(file)
    return paths


def test_every_format_is_registered_once():
    assert format_names() == ("tdep", "shengbte", "phonopy", "phono3py", "netcdf", "gpumd", "hiphive")
    assert all(fc_format(name.upper()).name == name for name in format_names())
    with pytest.raises(ValueError, match="format must be one of tdep, shengbte, phonopy, phono3py, netcdf, gpumd, "
                                         "hiphive, not 'vasp'"):
        fc_format("vasp")


@pytest.mark.parametrize("name", ["tdep", "shengbte", "phonopy", "phono3py", "netcdf", "gpumd", "hiphive"])
def test_can_open_takes_its_own_files_only(examples, name):
    """Each format's can_open accepts its own files and folders (test data and what its writer wrote), the other
    formats' can_open rejects them, and detection names the format."""
    own = fc_format(name)
    assert examples[name], name
    assert any(p.is_dir() for p in examples[name]) or own.suffixes
    for path in examples[name]:
        head = _head(path)
        assert own.can_open(path, head), (name, path)
        others = [f.name for f in FORMATS if f is not own and f.can_open(path, head)]
        assert others == [], (name, path, others)
        assert detect_fc_format(path) == name, path


def test_written_files_are_read_back_by_their_format(examples):
    """What each declared writer wrote is read back by ForceConstants.read through the registry: the same
    frequencies."""
    fc = _case("cu_nondiag")
    q = [[0, 0, 0], [0.5, 0, 0], [0.25, 0.1, 0.3]]
    ref = Phonons(fc).frequencies(q)
    for f in FORMATS:
        target = examples[f.name][len(DATA_FOLDERS.get(f.name, []))]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            back = ForceConstants.read(target)
        np.testing.assert_allclose(Phonons(back).frequencies(q), ref, atol=1e-6, err_msg=f.name)


def test_phono3py_folder_with_a_phonopy_yaml(tmp_path):
    """A phono3py folder may hold a phonopy yaml as well: phonopy's can_open takes it, detection says phono3py."""
    folder = tmp_path / "p3"
    shutil.copytree(DATA / "phono3py_si_pbesol", folder)
    shutil.copy(EXAMPLES / "fc" / "si_sw" / "phonopy_params.yaml", folder)
    assert fc_format("phonopy").can_open(folder) and fc_format("phono3py").can_open(folder)
    assert detect_fc_format(folder) == "phono3py"
    shutil.copy(DATA / "tdep_mgo" / "infile.forceconstant", folder)
    with pytest.raises(ValueError, match=r"holds files of several formats \(tdep, phono3py\): give --from"):
        detect_fc_format(folder)


def test_hiphive_file_known_by_its_first_bytes(examples, tmp_path):
    """A hiPhive file of another name (no .fcp / .fcs) is a tar archive: known by its first bytes and read as the
    .fcs it is; another file of an unknown name is refused with the names the registry knows."""
    fcs = next(p for p in examples["hiphive"] if p.suffix == ".fcs")
    renamed = tmp_path / "potential.bin"
    shutil.copy(fcs, renamed)
    assert detect_fc_format(renamed) == "hiphive"
    np.testing.assert_array_equal(ForceConstants.read(renamed).full(), ForceConstants.read(fcs).full())
    other = tmp_path / "other.tar"
    with tarfile.open(other, "w") as tar:
        tar.add(DATA / "tdep_mgo" / "infile.ucposcar", arcname="infile.ucposcar")
    assert detect_fc_format(other) == "hiphive"        # a tar archive: hiPhive's reader says what it lacks
    unknown = tmp_path / "constants.dat"
    unknown.write_text("1 2 3\n")
    with pytest.raises(ValueError) as err:
        detect_fc_format(unknown)
    msg = str(err.value)
    assert "not a force-constant file trajmodes knows by its name" in msg and "give --from" in msg
    for f in FORMATS:
        assert all(m in msg for m in f.marks[:2] + tuple(f"*{s}" for s in f.suffixes)), f.name


def test_empty_folder_names_every_format(tmp_path):
    with pytest.raises(ValueError) as err:
        detect_fc_format(tmp_path)
    msg = str(err.value)
    assert "no force-constant files in it (" in msg and "or give a .nc, .fcp or .fcs file" in msg
    assert all(f"{f.title} {f.marks[0]}" in msg for f in FORMATS if f.marks)


# ------------------------------------------------------------------ the entry point, each format's options, write


def test_formats_come_from_the_entry_point():
    """The registry holds the formats the package's entry point names (trajmodes.io.forceconstants.registry.FORMATS,
    the same objects in the same order); the model imports none of them."""
    from importlib import metadata
    from trajmodes.forceconstants.formats import ENTRY_POINT_GROUP
    from trajmodes.io.forceconstants import registry
    eps = [ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name == "trajmodes"]
    assert [ep.value for ep in eps] == ["trajmodes.io.forceconstants.registry:FORMATS"]
    assert eps[0].load() is registry.FORMATS
    assert FORMATS[:len(registry.FORMATS)] == registry.FORMATS


def test_entry_points_are_loaded_once_in_order(monkeypatch):
    """The formats of other distributions come after trajmodes' own, by entry-point name; an entry point may name one
    format or a sequence; without any the first lookup says to install trajmodes again."""
    from trajmodes.forceconstants import formats
    from trajmodes.io.forceconstants import registry

    class EP:
        def __init__(self, name, value, dist):
            self.name, self.value, self.dist = name, value, type("Dist", (), {"name": dist})()

        def load(self):
            return self.value
    extra = fc_format("netcdf").__class__("toy", "Toy", lambda path: ({}, str(path)), suffixes=(".toy",))
    calls = []

    def entry_points(group):
        calls.append(group)
        return [EP("zz", extra, "other"), EP("trajmodes", registry.FORMATS, "trajmodes")]
    monkeypatch.setattr(formats.metadata, "entry_points", entry_points)
    monkeypatch.setattr(formats, "_FORMATS", {})
    monkeypatch.setattr(formats, "_LOADED", [])
    assert formats.format_names() == tuple(f.name for f in registry.FORMATS) + ("toy",)
    assert formats.fc_format("toy") is extra
    assert calls == [formats.ENTRY_POINT_GROUP]                       # loaded on the first lookup only
    monkeypatch.setattr(formats.metadata, "entry_points", lambda group: [])
    monkeypatch.setattr(formats, "_FORMATS", {})
    monkeypatch.setattr(formats, "_LOADED", [])
    with pytest.raises(RuntimeError, match="no force-constant formats are registered: the entry points of group "
                                           "'trajmodes.force_constants' are missing .* pip install -e ."):
        formats.format_names()


def test_register_format(monkeypatch, tmp_path):
    """A format registered by hand is read through ForceConstants.read like the others: detected by its name, its
    reader's options passed on; a second format of a registered name is refused unless it replaces it."""
    from trajmodes.forceconstants import formats
    monkeypatch.setattr(formats, "_FORMATS", dict(formats._FORMATS))
    own = fc_format("netcdf")
    fc = _case("cu_nondiag")
    fc.write(tmp_path / "fc.nc")
    seen = []

    def read_toy(path, scale: float = 1.0):
        seen.append(scale)
        return own.read(tmp_path / "fc.nc")
    toy = own.__class__("toy", "Toy", read_toy, suffixes=(".toy",))
    formats.register_format(toy)
    assert format_names()[-1] == "toy" and format_options("toy") == ("scale",)
    (tmp_path / "x.toy").write_text("")
    back = ForceConstants.read(tmp_path / "x.toy", scale=2.0)
    assert seen == [2.0] and np.array_equal(back.full(), fc.full())
    with pytest.raises(ValueError, match="a force-constant format named 'toy' is already registered"):
        formats.register_format(own.__class__("toy", "Toy 2", read_toy))
    formats.register_format(own.__class__("toy", "Toy 2", read_toy), replace=True)
    assert fc_format("toy").title == "Toy 2"


def test_options_of_every_format():
    """Each format's options are its reader's and its writer's keyword parameters."""
    read = {f.name: format_options(f.name) for f in FORMATS}
    write = {f.name: format_options(f.name, "write") for f in FORMATS}
    assert read == {"tdep": ("supercell",), "shengbte": ("supercell",), "phonopy": ("born", "symprec"),
                    "phono3py": ("fc2_filename", "fc3_filename"), "netcdf": ("member",), "gpumd": ("primitive",),
                    "hiphive": ("supercell",)}
    assert write == {"tdep": ("source", "tol"), "shengbte": ("source", "tol", "mesh", "temperature"),
                     "phonopy": ("fc_format",), "phono3py": ("compression",), "netcdf": ("attrs", "members"),
                     "gpumd": ("source", "path", "heat_current_order"), "hiphive": ()}


def test_an_option_the_format_does_not_take_is_refused(tmp_path):
    """An unknown option is a TypeError (as any unexpected keyword) and a ValueError (the command line says it in one
    line) that names the format and the options it takes, before any file is read or written."""
    from trajmodes.errors import FormatOptionError
    fc = _case("cu_nondiag")
    with pytest.raises(FormatOptionError, match=r"reading phonopy force constants \(format 'phonopy'\) takes no option "
                                                r"'supercell': its options are born, symprec") as err:
        ForceConstants.read(EXAMPLES / "fc" / "cu_eam", supercell=3)
    assert isinstance(err.value, TypeError) and isinstance(err.value, ValueError)
    with pytest.raises(TypeError, match=r"reading trajmodes netCDF force constants \(format 'netcdf'\) takes no "
                                        r"option 'supercell', 'born': its options are member"):
        ForceConstants.read(tmp_path / "fc.nc", "netcdf", supercell=3, born=None)
    with pytest.raises(ValueError, match=r"writing TDEP force constants \(format 'tdep'\) takes no option "
                                         r"'mesh': its options are source, tol"):
        fc.write(tmp_path / "t", "tdep", mesh=4)
    with pytest.raises(TypeError, match=r"writing trajmodes netCDF .* no option 'attr': its options are attrs"):
        fc.write(tmp_path / "fc.nc", attr={})
    assert not list(tmp_path.iterdir())


def test_write_knows_one_file_formats_by_their_ending(tmp_path):
    """``write`` takes the format from a ``.nc`` or ``.fcs`` name; a folder's format must be named, and the message
    says which formats write what; an unknown format lists the known ones."""
    fc = _case("cu_nondiag")
    fc.write(tmp_path / "fc.nc", attrs={"note": "x"})
    assert detect_fc_format(tmp_path / "fc.nc") == "netcdf"
    with pytest.raises(ValueError) as err:
        fc.write(tmp_path / "out")
    assert str(err.value) == (f"{tmp_path / 'out'}: its name says no format to write (*.nc netcdf, *.fcs hiphive); "
                              "give format= (tdep, shengbte, phonopy, phono3py or gpumd write a folder, netcdf or "
                              "hiphive a file)")
    with pytest.raises(ValueError, match="format must be one of tdep, shengbte, phonopy, phono3py, netcdf, gpumd, "
                                         "hiphive, not 'vasp'"):
        fc.write(tmp_path / "out", "vasp")
    assert not (tmp_path / "out").exists()
