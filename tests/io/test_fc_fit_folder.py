"""The folder `trajmodes fit -o` writes is read as its constants (`fc.nc`), as a phonopy or TDEP folder is: before,
`trajmodes anharmonic <fit folder>` answered "no force-constant files in it"."""
import shutil

import numpy as np
import pytest
import xarray as xr

from tests.support.paths import DATA
from trajmodes.errors import DAMAGED, ForceConstantsFormatError
from trajmodes.forceconstants.formats import detect_fc_format
from trajmodes.forceconstants.model import ForceConstants


def test_the_folder_of_a_fit_is_read_as_its_fc_nc(tmp_path):
    source = DATA / "phono3py_quartz" / "fc.nc"
    shutil.copy(source, tmp_path / "fc.nc")
    (tmp_path / "fc.png").write_bytes(b"")                          # what else the fit writes there
    assert detect_fc_format(tmp_path) == "netcdf"
    folder, file = ForceConstants.read(tmp_path), ForceConstants.read(source)
    np.testing.assert_array_equal(folder.fc2, file.fc2)
    np.testing.assert_array_equal(folder.fc3_sparse.blocks, file.fc3_sparse.blocks)


def test_a_folder_of_several_formats_names_the_file_of_each(tmp_path):
    """A fit's fc.nc beside phono3py's files: the error names the file to give for each (the commands other than
    convert-fc take no --from, which was all it said), and each file given reads that format."""
    folder = tmp_path / "both"
    shutil.copytree(DATA / "phono3py_si_pbesol", folder)
    shutil.copy(DATA / "phono3py_quartz" / "fc.nc", folder / "fc.nc")
    with pytest.raises(ValueError) as err:
        detect_fc_format(folder)
    msg = str(err.value)
    assert "several formats (phono3py, netcdf): give --from to trajmodes convert-fc" in msg
    assert f"or the file of the one to read: {folder / 'phono3py_disp.yaml'} or {folder / 'fc.nc'}" in msg
    assert detect_fc_format(folder / "phono3py_disp.yaml") == "phono3py"
    assert detect_fc_format(folder / "fc.nc") == "netcdf"


def test_a_folder_of_constants_under_other_names_says_which_files_it_holds(tmp_path):
    """fc.nc files renamed (fc_300K.nc, fc_900K.nc): the folder's error says they are there, to be given as files."""
    for name in ("fc_300K.nc", "fc_900K.nc"):
        shutil.copy(DATA / "phono3py_quartz" / "fc.nc", tmp_path / name)
    with pytest.raises(ValueError, match=r"it holds fc_300K\.nc, fc_900K\.nc, not named as constants: give the file "
                                         r"itself"):
        detect_fc_format(tmp_path)
    assert ForceConstants.read(tmp_path / "fc_300K.nc").n_atoms == 162


def _trajmodes_file(path, variables: dict, dims=None) -> None:
    """A netCDF file as trajmodes writes its results (the ``trajmodes_version`` attribute), of ``variables``."""
    xr.Dataset({k: (dims or ("x",), v) for k, v in variables.items()},
               attrs={"trajmodes_version": "0.1.0"}).to_netcdf(path)


def test_a_fits_scores_file_given_as_constants_points_to_fc_nc(tmp_path):
    """fc.scores.nc (the fit's scores, beside its fc.nc) given as the constants: a file trajmodes wrote that holds
    none, and the fc.nc of its folder to give instead; before: "no variable 'supercell_cell' ... damaged: write or
    copy it again", of a file that is whole."""
    shutil.copy(DATA / "phono3py_quartz" / "fc.nc", tmp_path / "fc.nc")
    _trajmodes_file(tmp_path / "fc.scores.nc", {"cv_rmse": np.ones(2), "r2": np.ones(2)})
    with pytest.raises(ForceConstantsFormatError) as err:
        ForceConstants.read(tmp_path / "fc.scores.nc")
    msg = str(err.value)
    assert "a netCDF file trajmodes wrote, but no force constants (its variables: cv_rmse, r2)" in msg
    assert f"The constants of its folder are {tmp_path / 'fc.nc'}" in msg and DAMAGED not in msg
    alone = tmp_path / "elsewhere"
    alone.mkdir()
    _trajmodes_file(alone / "modes.nc", {"frequency": np.ones(2)})
    with pytest.raises(ForceConstantsFormatError, match=r"no force constants \(its variables: frequency\)\. Give the "
                                                        r"fc\.nc that trajmodes fit wrote"):
        ForceConstants.read(alone / "modes.nc")


def test_a_series_file_given_as_constants_says_to_fit_a_run(tmp_path):
    """series.nc holds each run's fc2 parameters (dimension run): not constants to compute with; the error says to
    fit the run of the temperature wanted."""
    _trajmodes_file(tmp_path / "series.nc", {"fc2": np.ones((2, 3)), "temperature": np.ones((2, 3))},
                    dims=("run", "param2"))
    with pytest.raises(ForceConstantsFormatError, match=r"a series of runs \(trajmodes series\) keeps the parameters "
                                                        r"of each run's fc2.*Fit the run of the temperature you want"):
        ForceConstants.read(tmp_path / "series.nc")


def test_a_half_written_fc_nc_is_damaged(tmp_path):
    """fc.nc cut short (a copy that stopped): netCDF cannot open it, said with the fix for a damaged file."""
    data = (DATA / "phono3py_quartz" / "fc.nc").read_bytes()
    (tmp_path / "fc.nc").write_bytes(data[:len(data) // 2])
    with pytest.raises(ForceConstantsFormatError, match="netCDF cannot open it") as err:
        ForceConstants.read(tmp_path)
    assert DAMAGED in str(err.value)
