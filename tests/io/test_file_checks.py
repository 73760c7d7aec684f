"""The readers' shared checks of a file's first bytes (``trajmodes.io.filesystem``): the compression it names and the
byte-order mark it refuses, naming the line."""
from __future__ import annotations

import pytest

from trajmodes.errors import TrajectoryFormatError
from trajmodes.io import filesystem


@pytest.mark.parametrize("head, what", [(b"BZh91AY", "bzip2-compressed"), (b"\xfd7zXZ\x00\x00", "xz-compressed"),
                                        (b"PK\x03\x04rest", "a ZIP archive"), (b"ITEM: TIMESTEP\n", None)])
def test_compression_of(head, what):
    found = filesystem.compression_of(head)
    assert (found and found[0]) == what


def test_byte_order_mark_error_names_the_first_line():
    err = filesystem.byte_order_mark_error("dump.lammpstrj", b"ITEM: TIMESTEP\n0\n")
    assert isinstance(err, TrajectoryFormatError) and err.line == 1
    assert "byte-order mark" in str(err) and "'ITEM: TIMESTEP'" in str(err)
