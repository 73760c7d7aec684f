"""The files of :class:`~trajmodes.forceconstants.model.ForceConstants`: its ``read``, ``from_*`` and ``to_*`` methods, one
per format, each a thin call of the format's reader or writer in :mod:`trajmodes.io` (``fcfiles``: phonopy;
``fc_phono3py``, ``fc_netcdf`` (trajmodes' own), ``fc_tdep``, ``fc_shengbte``, ``fc_hiphive``, ``fc_gpumd``), which return the constructor's
keywords.
"""
from __future__ import annotations
from trajmodes.lattice.spglib_calls import SYMPREC

import os
from typing import TypeVar

__all__ = ["ForceConstantFiles"]

#: the class a reader is called on (:class:`~trajmodes.forceconstants.model.ForceConstants`), whose instance it
#: returns: a type variable, so that this base class names its subclass without importing it
ForceConstantsT = TypeVar("ForceConstantsT", bound="ForceConstantFiles")


class ForceConstantFiles:
    """The file methods of :class:`~trajmodes.forceconstants.model.ForceConstants` (a base class: the formats' readers
    build the constants through ``cls``)."""

    # -- the formats live in trajmodes.io: fcfiles, fc_phono3py, fc_netcdf, fc_tdep, fc_shengbte, fc_hiphive, fc_gpumd
    @classmethod
    def from_phonopy(cls: type[ForceConstantsT], path: str | os.PathLike,
                     born: str | os.PathLike | bool | None = None, symprec: float = SYMPREC) -> ForceConstantsT:
        """Read phonopy force constants with their structure and Born charges (a folder with
        ``phonopy_params.yaml`` / ``phonopy.yaml`` and ``FORCE_CONSTANTS`` or ``fc2.hdf5``, or one of those files);
        see :func:`trajmodes.io.fcfiles.read_phonopy`."""
        from trajmodes.io.fcfiles import read_phonopy
        data, where = read_phonopy(path, born=born, symprec=symprec)
        return cls._from_file(data, where)

    def to_phonopy(self, folder: str | os.PathLike, fc_format: str = "text") -> None:
        """Write ``phonopy_params.yaml`` and ``FORCE_CONSTANTS`` (``fc_format="hdf5"``: ``fc2.hdf5``), with Born
        charges also ``BORN``, into ``folder``; see :func:`trajmodes.io.fcfiles.write_phonopy`."""
        from trajmodes.io.fcfiles import write_phonopy
        write_phonopy(self.with_convention("full"), folder, fc_format)

    @classmethod
    def from_phono3py(cls: type[ForceConstantsT], path: str | os.PathLike,
                      fc2_filename: str | os.PathLike | None = None,
                      fc3_filename: str | os.PathLike | None = None) -> ForceConstantsT:
        """Read phono3py's fc2 (and fc3 when there is one) with the structure of its yaml; see
        :func:`trajmodes.io.forceconstants.phono3py.read_phono3py`."""
        from trajmodes.io.forceconstants.phono3py import read_phono3py
        data, where = read_phono3py(path, fc2_filename, fc3_filename)
        return cls._from_file(data, where)

    @classmethod
    def _from_file(cls: type[ForceConstantsT], data: dict, where: str) -> ForceConstantsT:
        """The constants of a reader's keywords, every inconsistency named by its file: the Born charges and the
        dielectric tensor checked first (:func:`~trajmodes.forceconstants.dipole.check_born`), named by the file they
        came from (``nac_source``, else ``where``), the rest by ``where``."""
        from trajmodes.io.fcfiles import blamed
        data = dict(data)
        source = str(data.pop("nac_source", None) or where)
        _checked_nac(data, source)
        if data.get("phonon") is not None:
            data["phonon"] = dict(data["phonon"])
            _checked_nac(data["phonon"], str(data["phonon"].pop("nac_source", None) or source))
        with blamed(where):
            return cls._from_keywords(data)

    @classmethod
    def _from_keywords(cls: type[ForceConstantsT], data: dict) -> ForceConstantsT:
        """The constants of a reader's keywords; ``phonon`` (the keywords of an fc2 on a larger supercell, phono3py's
        ``--dim-fc2``) becomes :attr:`phonon_fc2`, folded onto these constants' supercell where they have no fc2."""
        data = dict(data)
        if data.get("phonon") is not None:
            phonon = cls(**data.pop("phonon"))
            if data.get("fc2") is None:
                data["fc2"] = phonon.folded_fc2(data["supercell"], data["p2s"])
            data["phonon_fc2"] = phonon
        data.pop("phonon", None)
        return cls(**data)

    def to_phono3py(self, folder: str | os.PathLike, compression: str | None = "gzip") -> None:
        """Write ``phono3py_params.yaml``, ``fc2.hdf5`` and (with ``fc3``) ``fc3.hdf5`` into ``folder``; see
        :func:`trajmodes.io.forceconstants.phono3py.write_phono3py`."""
        from trajmodes.io.forceconstants.phono3py import write_phono3py
        write_phono3py(self.with_convention("full"), folder, compression)

    def to_netcdf(self, path: str | os.PathLike, attrs: dict | None = None) -> None:
        """Write trajmodes' own netCDF4 file (atomic), with the provenance attributes ``attrs``; see
        :func:`trajmodes.io.forceconstants.netcdf.write_netcdf`."""
        from trajmodes.io.forceconstants.netcdf import write_netcdf
        write_netcdf(self.with_convention("full"), path, attrs)

    @classmethod
    def read(cls: type[ForceConstantsT], path: str | os.PathLike, format: str | None = None,
             supercell=None) -> ForceConstantsT:
        """Force constants of any format trajmodes reads: TDEP, ShengBTE, phonopy, phono3py, hiPhive (``.fcp``,
        ``.fcs``), GPUMD or a trajmodes netCDF file, the one place every command and function reads them through.

        Parameters
        ----------
        path : path
            A file or a folder of the format's files.
        format : {"tdep", "shengbte", "phonopy", "phono3py", "hiphive", "gpumd", "netcdf"}, optional
            Default: from the file names (:func:`trajmodes.io.fcfiles.detect_fc_format`).
        supercell : optional
            For TDEP and ShengBTE files without their supercell file, and hiPhive potentials (see their readers).
        """
        from trajmodes.io.fcfiles import detect_fc_format
        fmt = (format or detect_fc_format(path)).lower()
        readers = {"hiphive": lambda: cls.from_hiphive(path, supercell=supercell), "gpumd": lambda: cls.from_gpumd(path),
                   "tdep": lambda: cls.from_tdep(path, supercell=supercell),
                   "shengbte": lambda: cls.from_shengbte(path, supercell=supercell),
                   "phono3py": lambda: cls.from_phono3py(path), "phonopy": lambda: cls.from_phonopy(path),
                   "netcdf": lambda: cls.from_netcdf(path)}
        if fmt not in readers:
            raise ValueError(f"format must be one of {', '.join(readers)}, not {format!r}")
        return readers[fmt]()

    @classmethod
    def from_netcdf(cls: type[ForceConstantsT], path: str | os.PathLike) -> ForceConstantsT:
        """Read a file written by :meth:`to_netcdf`."""
        from trajmodes.io.forceconstants.netcdf import read_netcdf
        data, where = read_netcdf(path)
        return cls._from_file(data, where)

    @classmethod
    def from_tdep(cls: type[ForceConstantsT], path: str | os.PathLike, supercell=None) -> ForceConstantsT:
        """Read TDEP's ``infile.forceconstant`` (and ``infile.forceconstant_thirdorder`` when there is one) onto
        the supercell of ``infile.ssposcar`` (or ``supercell``), the unit cell from ``infile.ucposcar``; see
        :func:`trajmodes.io.forceconstants.tdep.read_tdep`."""
        from trajmodes.io.forceconstants.tdep import read_tdep
        data, where = read_tdep(path, supercell=supercell)
        return cls._from_file(data, where)

    def to_tdep(self, folder: str | os.PathLike, source: str | os.PathLike | None = None) -> None:
        """Write TDEP's ``infile.ucposcar``, ``infile.ssposcar``, ``infile.forceconstant`` and (with ``fc3``)
        ``infile.forceconstant_thirdorder`` into ``folder``; ``source`` is named in their headers. See
        :func:`trajmodes.io.forceconstants.tdep.write_tdep`."""
        from trajmodes.io.forceconstants.tdep import write_tdep
        write_tdep(self.with_convention("short-range"), folder, source)

    @classmethod
    def from_shengbte(cls: type[ForceConstantsT], path: str | os.PathLike, supercell=None) -> ForceConstantsT:
        """Read ShengBTE's ``FORCE_CONSTANTS_2ND`` (and ``FORCE_CONSTANTS_3RD`` when there is one) with the unit cell
        of ``POSCAR``, the supercell of ``SPOSCAR`` (or ``supercell``) and the Born charges of ``CONTROL``; see
        :func:`trajmodes.io.forceconstants.shengbte.read_shengbte`."""
        from trajmodes.io.forceconstants.shengbte import read_shengbte
        data, where = read_shengbte(path, supercell=supercell)
        return cls._from_file(data, where)

    def to_shengbte(self, folder: str | os.PathLike, source: str | os.PathLike | None = None, mesh=None,
                    temperature: float = 300.0) -> None:
        """Write ``POSCAR``, ``SPOSCAR``, ``FORCE_CONSTANTS_2ND``, ``CONTROL`` (with the Born charges and dielectric
        tensor when there are any; ``mesh`` and ``temperature`` (K) its ``ngrid`` and ``T``) and (with ``fc3``)
        ``FORCE_CONSTANTS_3RD`` for ShengBTE / almaBTE into ``folder``; see
        :func:`trajmodes.io.forceconstants.shengbte.write_shengbte`."""
        from trajmodes.io.forceconstants.shengbte import write_shengbte
        write_shengbte(self.with_convention("full"), folder, source, mesh=mesh, temperature=temperature)

    @classmethod
    def from_hiphive(cls: type[ForceConstantsT], path: str | os.PathLike, supercell=None) -> ForceConstantsT:
        """Read a hiPhive force-constant potential (``.fcp``) onto ``supercell`` (a Crystal, or N / 3 ints / a 3 x 3
        matrix of unit cells), or a hiPhive ForceConstants file (``.fcs``) with its own supercell; second and third
        order, with hiPhive's own reader (``pip install hiphive``). See
        :func:`trajmodes.io.forceconstants.hiphive.read_hiphive`."""
        from trajmodes.io.forceconstants.hiphive import read_hiphive
        data, where = read_hiphive(path, supercell=supercell)
        return cls._from_file(data, where)

    def to_hiphive(self, path: str | os.PathLike) -> None:
        """Write a hiPhive ForceConstants file (``.fcs``) with hiPhive's own writer; see
        :func:`trajmodes.io.forceconstants.hiphive.write_hiphive`."""
        from trajmodes.io.forceconstants.hiphive import write_hiphive
        write_hiphive(self.with_convention("full"), path)

    @classmethod
    def from_gpumd(cls: type[ForceConstantsT], path: str | os.PathLike, primitive=None) -> ForceConstantsT:
        """Read GPUMD's force-constant potential files (``model.xyz``, ``clusters_order2.in``, ``fcs_order2.in`` and
        the third order when there is one); ``primitive`` (a Crystal or a POSCAR) defaults to ``POSCAR`` beside them or
        spglib's. See :func:`trajmodes.io.forceconstants.gpumd.read_gpumd`."""
        from trajmodes.io.forceconstants.gpumd import read_gpumd
        data, where = read_gpumd(path, primitive=primitive)
        return cls._from_file(data, where)

    def to_gpumd(self, folder: str | os.PathLike, source: str | os.PathLike | None = None,
                 path: str | os.PathLike | None = None) -> None:
        """Write GPUMD's force-constant potential (``fcp.txt``, ``model.xyz``, ``r0.in``, the clusters and blocks of
        the second and third order) into ``folder``; ``path``: the folder ``fcp.txt`` names (default ``folder``). See
        :func:`trajmodes.io.forceconstants.gpumd.write_gpumd`."""
        from trajmodes.io.forceconstants.gpumd import write_gpumd
        write_gpumd(self.with_convention("full"), folder, source=source, path=path)


def _checked_nac(data: dict, source: str) -> None:
    """Replace a reader's ``born`` and ``epsilon`` by their checked forms (a small breach of the charge sum rule
    corrected with a warning that names ``source``); a ForceConstantsFormatError naming ``source`` if they cannot be
    used."""
    if data.get("born") is None or data.get("epsilon") is None or data.get("primitive") is None:
        return
    from trajmodes.forceconstants.dipole import check_born
    from trajmodes.io.fcfiles import blamed
    with blamed(source, fix=None):
        try:
            data["born"], data["epsilon"] = check_born(data["born"], data["epsilon"], data["primitive"].n_atoms,
                                                       where=source, correct=not data.get("short_range", False),
                                                       species=data["primitive"].species)
        except ValueError as exc:                    # named by the file once, as a ForceConstantsFormatError
            raise ValueError(str(exc).removeprefix(f"{source}: ")) from None
