"""Names whose home moved down a layer, so that no module imports itself through another, are still imported from
where they were: the readers' file checks (home ``io.files``), spglib's tolerance and quiet calls (home
``lattice.spglib_calls``)."""
from __future__ import annotations

import pytest

import trajmodes.io
from trajmodes.errors import TrajectoryFormatError
from trajmodes.io import files
from trajmodes.lattice import spglib_calls, symmetry


def test_the_file_checks_are_imported_from_io_too():
    assert trajmodes.io.BOM is files.BOM
    assert trajmodes.io.compression_of is files.compression_of
    assert trajmodes.io.byte_order_mark_error is files.byte_order_mark_error


@pytest.mark.parametrize("head, what", [(b"BZh91AY", "bzip2-compressed"), (b"\xfd7zXZ\x00\x00", "xz-compressed"),
                                        (b"PK\x03\x04rest", "a ZIP archive"), (b"ITEM: TIMESTEP\n", None)])
def test_compression_of(head, what):
    found = files.compression_of(head)
    assert (found and found[0]) == what


def test_byte_order_mark_error_names_the_first_line():
    err = files.byte_order_mark_error("dump.lammpstrj", b"ITEM: TIMESTEP\n0\n")
    assert isinstance(err, TrajectoryFormatError) and err.line == 1
    assert "byte-order mark" in str(err) and "'ITEM: TIMESTEP'" in str(err)


def test_the_symmetry_tolerance_is_imported_from_symmetry_too():
    assert symmetry.SYMPREC == spglib_calls.SYMPREC == 1e-3
    assert symmetry.quiet_spglib is spglib_calls.quiet_spglib
