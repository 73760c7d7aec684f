"""The registry of force-constant formats (trajmodes.io.forceconstants.registry): every format's ``can_open`` takes
its own files and folders and no other format's; detection by name is what it was, and a hiPhive file of another name
is known by its first bytes (a tar archive).

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
from trajmodes.io.forceconstants.registry import FORMATS, HEAD_BYTES, detect_fc_format, fc_format, format_names

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
            f.write_constants(written, target)
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
