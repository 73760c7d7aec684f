"""How trajmodes calls spglib: :data:`SYMPREC`, the default tolerance of every symmetry search, and
:func:`quiet_spglib`, around every call. The lowest module of the lattice's symmetry (the crystal, the Niggli
reduction and the space groups all call spglib through it); both names are imported from
:mod:`trajmodes.lattice.symmetry` too."""
from __future__ import annotations

import os
import warnings
from contextlib import contextmanager

__all__ = ["SYMPREC", "quiet_spglib"]

#: Angstrom: the default tolerance of every symmetry search (spglib's ``symprec``). Loose enough for the averaged
#: positions of an MD run and for structure files written to a few decimals; an exact crystal has the same group at
#: any smaller tolerance.
SYMPREC = 1e-3


@contextmanager
def quiet_spglib():
    """spglib >= 2.5 warns about its old error handling on every call, and its C library prints notes such as
    "Primitive lattice cleaning is incomplete" on stderr while it searches; the results are checked here. An error
    spglib raises (newer versions raise where older ones returned None, e.g. "too close distance between atoms" for a
    noisy snapshot) is a ValueError, as every failed symmetry search here."""
    try:
        from spglib.error import SpglibError
    except ImportError:                                         # older spglib: errors are None results
        SpglibError = ()
    old = os.environ.get("SPGLIB_WARNING")
    os.environ["SPGLIB_WARNING"] = "OFF"
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="spglib")
            yield
    except SpglibError as exc:
        raise ValueError(f"spglib: {exc}") from None
    finally:
        if old is None:
            os.environ.pop("SPGLIB_WARNING", None)
        else:
            os.environ["SPGLIB_WARNING"] = old
