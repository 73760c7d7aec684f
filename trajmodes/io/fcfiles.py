"""Force-constant files: phonopy (phonopy_params.yaml, FORCE_CONSTANTS, fc2.hdf5, BORN), phono3py (fc2.hdf5,
fc3.hdf5) and trajmodes' own netCDF. Readers return the keywords of
:class:`~trajmodes.forceconstants.model.ForceConstants` (arrays and :class:`~trajmodes.lattice.crystal.Crystal`
objects) and the file to name if the arrays turn out inconsistent; writers take a ``ForceConstants``. phonopy and
phono3py parse their own formats and are imported only here."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from trajmodes.errors import ForceConstantsFormatError
from trajmodes.io.files import atomic_write
from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.supercell import SupercellMap

__all__ = ["FC_FORMAT_MARKS", "detect_fc_format", "read_phonopy", "write_phonopy", "read_phono3py", "write_phono3py", "read_netcdf", "write_netcdf",
           "blamed", "phonopy_columns", "crystal_from_phonopy", "phonopy_atoms", "supercell_clusters"]

def _need(package: str):
    """Import phonopy or phono3py (core dependencies), with the command that installs it if it is missing."""
    import importlib
    try:
        return importlib.import_module(package)
    except ImportError:
        raise ImportError(f"reading and writing {package} files needs {package}: pip install {package}",
                          name=package) from None


PHONOPY_YAMLS = ("phonopy_params.yaml", "phonopy.yaml", "phonopy_disp.yaml")
FC_FILES = ("FORCE_CONSTANTS", "fc2.hdf5", "force_constants.hdf5")


#: files whose presence (in a folder) or name says the format
FC_FORMAT_MARKS = {
    "tdep": ("infile.forceconstant", "outfile.forceconstant", "infile.forceconstant_thirdorder",
             "outfile.forceconstant_thirdorder", "infile.ucposcar", "infile.ssposcar",
             "infile.forceconstant_fourthorder", "outfile.forceconstant_fourthorder"),
    "shengbte": ("FORCE_CONSTANTS_2ND", "FORCE_CONSTANTS_3RD"),
    "phono3py": ("phono3py_params.yaml", "phono3py.yaml", "phono3py_disp.yaml", "fc3.hdf5"),
    "phonopy": ("phonopy_params.yaml", "phonopy.yaml", "phonopy_disp.yaml", "FORCE_CONSTANTS"),
    "gpumd": ("clusters_order2.in", "fcs_order2.in", "clusters_order3.in", "fcs_order3.in", "fcp.txt"),
}


def detect_fc_format(path) -> str:
    """The format of force constants at ``path`` (a file or a folder), from the file names.

    Raises
    ------
    FileNotFoundError
        Nothing there.
    ValueError
        No known file, or files of several formats in one folder.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or folder")
    if os.path.isfile(path):
        name = os.path.basename(path)
        if name.endswith(".nc"):
            return "netcdf"
        if name.endswith((".fcp", ".fcs")):
            return "hiphive"
        for fmt, marks in FC_FORMAT_MARKS.items():
            if name in marks:
                return fmt
        if name in ("fc2.hdf5", "force_constants.hdf5"):
            return "phonopy"
        raise ValueError(f"{path}: not a force-constant file trajmodes knows by its name ("
                         + ", ".join(m for marks in FC_FORMAT_MARKS.values() for m in marks[:2]) + ", *.nc, *.fcp, *.fcs); "
                         "give --from (format= in Python)")
    names = set(os.listdir(path))
    found = [fmt for fmt, marks in FC_FORMAT_MARKS.items() if names & set(marks)]
    if found[:2] == ["phono3py", "phonopy"]:         # a phono3py folder may hold a phonopy yaml as well
        found = ["phono3py"]
    if len(found) > 1:
        raise ValueError(f"{path} holds files of several formats ({', '.join(found)}): give --from (format= in "
                         "Python)")
    if not found:
        raise ValueError(f"{path}: no force-constant files in it (TDEP infile.forceconstant, ShengBTE "
                         "FORCE_CONSTANTS_2ND, phonopy_params.yaml, phono3py_params.yaml, GPUMD fcs_order2.in; or "
                         "give a .nc, .fcp or .fcs file)")
    return found[0]

def read_phonopy(path: str | os.PathLike, born: str | os.PathLike | bool | None = None,
                 symprec: float = 1e-5) -> tuple[dict, str]:
    """Read phonopy force constants with their structure, and the Born charges if there are any: the keywords
    of :class:`~trajmodes.forceconstants.model.ForceConstants` and the file to name if they are inconsistent.

    Parameters
    ----------
    path : str or path
        A folder holding ``phonopy_params.yaml`` / ``phonopy.yaml`` / ``phonopy_disp.yaml`` and
        (unless the yaml holds them) ``FORCE_CONSTANTS`` or ``fc2.hdf5``; or one of those files.
    born : path, bool or None
        Non-analytic correction parameters (Born charges, dielectric tensor, factor). A path: that
        BORN file. None (default): the yaml's ``nac`` section if it has one, else a ``BORN``
        file in the folder if there is one, else none. False: none.
    symprec : float
        Tolerance (Angstrom) with which phonopy finds the symmetry-independent atoms of a BORN
        file (it lists only those; phonopy expands and symmetrises them).

    Notes
    -----
    Parsing is done by phonopy (``phonopy.load``, ``phonopy.file_IO.parse_BORN``), imported
    here only. The current directory is never searched (phonopy's own ``load`` would look for a
    BORN there).
    """
    phonopy = _need("phonopy")
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    yaml = p if p.is_file() and p.suffix in (".yaml", ".yml") else next(
        (folder / y for y in PHONOPY_YAMLS if (folder / y).exists()), None)
    if yaml is None:
        raise FileNotFoundError(f"no phonopy yaml ({', '.join(PHONOPY_YAMLS)}) in {folder}")
    fcfile = p if p.is_file() and p.name in FC_FILES or p.suffix == ".hdf5" else next(
        (folder / f for f in FC_FILES if (folder / f).exists()), None)
    kw = dict(is_nac=False, symmetrize_fc=False, log_level=0)
    if fcfile is not None:
        kw["force_constants_filename"] = str(fcfile)
    ph = _load_phonopy(phonopy, yaml, fcfile, kw)
    sc = crystal_from_phonopy(ph.supercell)
    pr = crystal_from_phonopy(ph.primitive)
    nac = None
    if born is not False:
        bfile = Path(born) if born not in (None, True) else None
        if bfile is None:
            from phonopy.interface.phonopy_yaml import PhonopyYaml
            py = PhonopyYaml()
            py.read(str(yaml))
            nac = py.nac_params
            if nac is None and (folder / "BORN").exists():
                bfile = folder / "BORN"
            elif nac is None and born is True:
                raise FileNotFoundError(f"no nac parameters in {yaml} and no BORN in {folder}")
        if bfile is not None:
            from phonopy.file_IO import parse_BORN
            nac = parse_BORN(ph.primitive, symprec=symprec, filename=str(bfile))
    kw = {}
    if nac is not None:
        from trajmodes.units import NAC_FACTOR
        factor = nac.get("factor")
        if factor is not None and abs(factor - NAC_FACTOR) < 5e-7:      # the default, as phonopy writes it
            factor = None
        kw = dict(born=nac["born"], epsilon=nac["dielectric"], nac_factor=factor)
    return (dict(fc2=np.asarray(ph.force_constants), supercell=sc, primitive=pr, p2s=np.asarray(ph.primitive.p2s_map),
                 **kw), str(fcfile or yaml))


def write_phonopy(fc, folder: str | os.PathLike, fc_format: str = "text") -> None:
    """Write ``phonopy_params.yaml`` and ``FORCE_CONSTANTS`` (or ``fc2.hdf5``) into ``folder``;
    with Born charges also ``BORN``.

    The unit cell is the primitive cell and the supercell matrix is ``smap.matrix``, so phonopy
    rebuilds the same supercell (atoms in its own order; the constants are reordered to match).
    Born charges, the dielectric tensor and the factor (``nac_factor`` or the default) go into
    the yaml's ``nac`` section as they are, every atom listed; that is what ``phonopy.load``
    and :func:`read_phonopy` read first. ``BORN`` is for phonopy's command line: its format lists
    only the symmetry-independent atoms, so phonopy's writer symmetrises the tensors first.

    Parameters
    ----------
    fc_format : {"text", "hdf5"}
    """
    phonopy = _need("phonopy")
    from phonopy.file_IO import write_force_constants_to_hdf5, write_FORCE_CONSTANTS
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ph = phonopy.Phonopy(phonopy_atoms(fc.primitive), supercell_matrix=fc.smap.matrix.T,
                         primitive_matrix=np.eye(3))          # phonopy >= 4 reads None as "auto", another basis
    cols, p2s_ph = phonopy_columns(fc, ph.supercell, ph.primitive)
    fc2 = fc.compact()[np.arange(fc.n_prim)[:, None], cols]           # phonopy's compact layout
    ph.force_constants = fc2
    if fc.born is not None:
        from phonopy.file_IO import get_BORN_lines
        from trajmodes.units import NAC_FACTOR
        factor = NAC_FACTOR if fc.nac_factor is None else fc.nac_factor
        ph.nac_params = {"born": fc.born, "dielectric": fc.epsilon, "factor": factor}
        lines = get_BORN_lines(ph.primitive, fc.born, fc.epsilon)
        lines[0] = f"{factor!r}  {lines[0]}" if fc.nac_factor is not None else lines[0]

        def write_born(tmp):
            with open(tmp, "w") as f:
                f.write("\n".join(lines) + "\n")
        atomic_write(folder / "BORN", write_born)
    atomic_write(folder / "phonopy_params.yaml", lambda tmp: ph.save(tmp, settings={"force_constants": False}))
    if fc_format == "hdf5":
        atomic_write(folder / "fc2.hdf5",
                     lambda tmp: write_force_constants_to_hdf5(fc2, filename=tmp, p2s_map=p2s_ph))
    else:
        atomic_write(folder / "FORCE_CONSTANTS",
                     lambda tmp: write_FORCE_CONSTANTS(fc2, filename=tmp, p2s_map=p2s_ph))


def phonopy_columns(fc, supercell, primitive) -> tuple[np.ndarray, np.ndarray]:
    """Compact columns ``cols`` (n_prim, N) taking the compact layout of ``fc`` to phonopy's for the
    supercell phonopy built (atoms in its own order), and phonopy's ``p2s_map``.

    phonopy's compact[k, j'] = ours[k, cols[k, j']]; its primitive atoms are ours, in order
    (unit cell = our primitive cell, primitive matrix the identity)."""
    pr = fc.primitive
    psc = crystal_from_phonopy(supercell)
    pmap = psc.supercell_map(pr)
    ours = fc.smap.index(pmap.atom, pmap.lattice + np.rint(
        (fc.smap.shift - pmap.shift) @ np.linalg.inv(pr.cell)).astype(np.int64))
    p2s_ph = np.asarray(primitive.p2s_map)
    if not np.array_equal(fc.smap.atom[ours[p2s_ph]], np.arange(fc.n_prim)):
        raise RuntimeError("phonopy's primitive atoms are not ours, in order")
    return fc.compact_columns(ours[p2s_ph][:, None], ours[None, :]), p2s_ph


def read_phono3py(path: str | os.PathLike, fc2_filename: str | os.PathLike | None = None,
                  fc3_filename: str | os.PathLike | None = None) -> tuple[dict, str]:
    """Read phono3py's fc2 (and fc3 when there is one) with the structure of its yaml: the keywords of
    :class:`~trajmodes.forceconstants.model.ForceConstants` and the files to name if they are inconsistent.

    Parameters
    ----------
    path : str or path
        A folder holding ``phono3py_params.yaml`` / ``phono3py.yaml`` / ``phono3py_disp.yaml``
        and ``fc2.hdf5`` (and ``fc3.hdf5``), or the yaml itself.
    fc2_filename, fc3_filename : path, optional
        The hdf5 files; default ``fc2.hdf5`` / ``fc3.hdf5`` beside the yaml.

    A yaml with its own phonon (fc2) supercell (``--dim-fc2``) gives the fc3 supercell's keywords with ``fc2=None``
    and the fc2 constants under ``phonon`` (the keywords of their own :class:`ForceConstants`), which
    :meth:`ForceConstants.from_phono3py` folds onto the fc3 supercell and keeps as ``phonon_fc2``. The constants come
    in phono3py's supercell order; Born charges are read from the yaml.
    """
    phono3py = _need("phono3py")
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    yaml = p if p.is_file() else next(
        (folder / y for y in ("phono3py_params.yaml", "phono3py.yaml", "phono3py_disp.yaml")
         if (folder / y).exists()), None)
    if yaml is None:
        raise FileNotFoundError(f"no phono3py yaml in {folder}")
    f2 = Path(fc2_filename) if fc2_filename is not None else folder / "fc2.hdf5"
    f3 = Path(fc3_filename) if fc3_filename is not None else folder / "fc3.hdf5"
    if not f2.exists():
        raise FileNotFoundError(f"{f2} not found")
    if fc3_filename is not None and not f3.exists():
        raise FileNotFoundError(f"{f3} not found")
    try:
        ph3 = _phono3py_from_files(phono3py, yaml, f2, f3 if f3.exists() else None)
    except Exception as exc:      # phono3py, h5py and yaml raise many types
        raise ForceConstantsFormatError(f"{yaml}, {f2}" + (f", {f3}" if f3.exists() else ""),
                                        f"phono3py cannot read them ({type(exc).__name__}: {first_line(exc)})",
                                        fix=DAMAGED) from None
    kw = {}
    if ph3.nac_params is not None:
        nac = ph3.nac_params
        kw = dict(born=nac["born"], epsilon=nac["dielectric"], nac_factor=nac.get("factor"))
    fc3 = None if ph3.fc3 is None else np.asarray(ph3.fc3)
    where = f"{f2}" + (f", {f3}" if f3.exists() else "")
    own = dict(supercell=crystal_from_phonopy(ph3.supercell), primitive=crystal_from_phonopy(ph3.primitive),
               p2s=np.asarray(ph3.primitive.p2s_map), fc3=fc3, **kw)
    if ph3.phonon_supercell_matrix is not None and not np.array_equal(ph3.phonon_supercell_matrix,
                                                                       ph3.supercell_matrix):
        phonon = dict(fc2=np.asarray(ph3.fc2), supercell=crystal_from_phonopy(ph3.phonon_supercell),
                      primitive=crystal_from_phonopy(ph3.phonon_primitive), p2s=np.asarray(ph3.phonon_primitive.p2s_map),
                      **kw)
        return dict(fc2=None, phonon=phonon, **own), where
    return dict(fc2=np.asarray(ph3.fc2), **own), where


def _phono3py_from_files(phono3py, yaml: Path, f2: Path, f3: Path | None):
    """A ``Phono3py`` object with the structure and NAC parameters of ``yaml`` and the constants of exactly the
    files named. ``phono3py.load`` also takes ``fc3.hdf5``, ``FORCES_FC3``, ``FORCES_FC2`` and ``BORN`` from the
    current directory when they are not named, which would attach another crystal's files: nothing is read here
    but the three paths given."""
    from phono3py.file_IO import read_fc2_from_hdf5, read_fc3_from_hdf5
    from phono3py.interface.phono3py_yaml import Phono3pyYaml
    from phonopy.interface.calculator import get_calculator_physical_units
    y = Phono3pyYaml()
    y.read(str(yaml))
    if y.unitcell is None:
        raise ValueError("the yaml holds no unit cell")
    units = get_calculator_physical_units(y.calculator)
    cell = y.unitcell.copy()
    cell.cell = cell.cell * units.distance_to_A
    smat = np.eye(3, dtype="int64") if y.supercell_matrix is None else y.supercell_matrix
    ph3 = phono3py.Phono3py(cell, smat, primitive_matrix="auto" if y.primitive_matrix is None else y.primitive_matrix,
                            phonon_supercell_matrix=y.phonon_supercell_matrix, calculator=y.calculator,
                            log_level=0)
    if y.nac_params is not None:
        nac = dict(y.nac_params)
        nac.setdefault("factor", units.nac_factor)
        ph3.nac_params = nac
    ph3.fc2 = read_fc2_from_hdf5(filename=str(f2), p2s_map=ph3.phonon_primitive.p2s_map)
    if f3 is not None:
        fc3 = read_fc3_from_hdf5(filename=str(f3), p2s_map=ph3.primitive.p2s_map)
        ph3.fc3 = fc3["fc3"] if isinstance(fc3, dict) else fc3
    return ph3


def write_phono3py(fc, folder: str | os.PathLike, compression: str | None = "gzip") -> None:
    """Write ``phono3py_params.yaml``, ``fc2.hdf5`` and (when ``fc3`` is set) ``fc3.hdf5`` into
    ``folder``, in phono3py's compact layouts and its own supercell atom order.

    The yaml holds the unit cell (our primitive cell), the supercell matrix (``smap.matrix``;
    the same one for fc2 and fc3) and the identity primitive matrix, so that::

        ph3 = phono3py.load(folder / "phono3py_params.yaml", fc2_filename=folder / "fc2.hdf5",
                            fc3_filename=folder / "fc3.hdf5", symmetrize_fc=False)

    rebuilds the same supercell and takes the constants as they are (phono3py looks for
    ``fc2.hdf5`` / ``fc3.hdf5`` in the current directory unless told the file names). Born
    charges and the dielectric tensor go into the yaml. fc2 in eV/A^2, fc3 in eV/A^3; the files
    carry ``p2s_map``. Written with phono3py's own writers (needs ``phono3py``).
    """
    phono3py = _need("phono3py")
    from phono3py.file_IO import write_fc2_to_hdf5, write_fc3_to_hdf5
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    phonon = getattr(fc, "phonon_fc2", None)
    ph3 = phono3py.Phono3py(phonopy_atoms(fc.primitive), supercell_matrix=fc.smap.matrix.T,
                            primitive_matrix=np.eye(3), log_level=0,
                            phonon_supercell_matrix=None if phonon is None else phonon.smap.matrix.T)
    cols, p2s = phonopy_columns(fc, ph3.supercell, ph3.primitive)
    k = np.arange(fc.n_prim)[:, None]
    if phonon is None:
        fc2, p2s2 = np.ascontiguousarray(fc.compact()[k, cols]), p2s
    else:                                     # --dim-fc2: fc2 of the phonon supercell, in phono3py's order of it
        cols2, p2s2 = phonopy_columns(phonon, ph3.phonon_supercell, ph3.phonon_primitive)
        fc2 = np.ascontiguousarray(phonon.compact()[k, cols2])
    if fc.born is not None:
        from trajmodes.units import NAC_FACTOR
        factor = NAC_FACTOR if fc.nac_factor is None else fc.nac_factor
        ph3.nac_params = {"born": fc.born, "dielectric": fc.epsilon, "factor": factor}
    atomic_write(folder / "phono3py_params.yaml", lambda tmp: ph3.save(tmp))
    atomic_write(folder / "fc2.hdf5", lambda tmp: write_fc2_to_hdf5(
        fc2, filename=tmp, p2s_map=p2s2, physical_unit="eV/angstrom^2", compression=compression))
    if fc.fc3 is not None:
        fc3 = np.ascontiguousarray(fc.fc3[k[:, :, None], cols[:, :, None], cols[:, None, :]])
        atomic_write(folder / "fc3.hdf5", lambda tmp: write_fc3_to_hdf5(
            fc3, filename=tmp, p2s_map=p2s, compression=compression))


def read_netcdf(path: str | os.PathLike) -> tuple[dict, str]:
    """Read a file written by :func:`write_netcdf`: the keywords of
    :class:`~trajmodes.forceconstants.model.ForceConstants` and the file to name if they are inconsistent."""
    import netCDF4
    if not os.path.exists(path):
        raise FileNotFoundError(f"{os.fspath(path)}: no such file")
    try:
        with netCDF4.Dataset(path) as ds:
            return _from_dataset(ds, path)
    except OSError as exc:
        raise ForceConstantsFormatError(path, f"netCDF cannot open it ({exc})", fix=DAMAGED) from None
    except (KeyError, IndexError) as exc:
        raise ForceConstantsFormatError(path, f"it has no variable {exc}: not a trajmodes force-constants file, "
                                              "or an incomplete one", fix=DAMAGED) from None


def _from_dataset(ds, path) -> tuple[dict, str]:
    """The constants of an open netCDF file (or group) written by :func:`write_netcdf`."""
    ds.set_auto_mask(False)

    def get(name, dtype=None):
        if name not in ds.variables:
            raise KeyError(name)
        return np.asarray(ds[name][:], dtype=dtype)
    cr = {name: Crystal(get(f"{name}_cell"), get(f"{name}_positions"), get(f"{name}_species", str),
                        get(f"{name}_masses"))
          for name in ("supercell", "primitive")}
    born = get("born") if "born" in ds.variables else None
    eps = get("epsilon") if "epsilon" in ds.variables else None
    polar = {} if eps is None else dict(nac_factor=getattr(ds["epsilon"], "nac_factor", None))
    fc3 = get("fc3") if "fc3" in ds.variables else None
    fc4 = (get("fc4_sites", np.int64), get("fc4")) if "fc4" in ds.variables else None
    sc, pr = cr["supercell"], cr["primitive"]
    with blamed(path):
        smap = SupercellMap(get("supercell_matrix"), get("map_atom"), get("map_lattice"), np.zeros(sc.n_atoms),
                            get("map_shift"))
        smap = SupercellMap(smap.matrix, smap.atom, smap.lattice,
                            np.linalg.norm(sc.positions - sc.ideal_positions(pr, smap), axis=1), smap.shift)
    data = dict(fc2=get("fc2"), supercell=sc, primitive=pr, smap=smap, p2s=get("p2s"), born=born, epsilon=eps,
                fc3=fc3, fc4=fc4, **polar)
    if "phonon_fc2" in ds.groups:
        data["phonon"] = _from_dataset(ds.groups["phonon_fc2"], path)[0]
    return data, str(path)


def write_netcdf(fc, path: str | os.PathLike, attrs: dict | None = None) -> None:
    """Write force constants as trajmodes' own netCDF4 file (atomic: a failed write leaves no partial file).

    fc2 in its layout (``fc2``, eV/A^2); fc3, when set, as variable ``fc3`` (compact
    (n_prim, N, N, 3, 3, 3), eV/A^3, zlib-compressed, one chunk per primitive atom: 216-atom
    diamond Si is 20 MB uncompressed); fc4, when set, as its quartets ``fc4_sites`` and blocks ``fc4`` (eV/A^4); the
    Born charges and dielectric tensor (:meth:`ForceConstants.to_netcdf` writes full constants); an fc2 of a larger
    supercell for the phonons (``phonon_fc2``, phono3py's ``--dim-fc2``) as the group ``phonon_fc2``, laid out as the
    file. ``attrs``: global attributes to add (the provenance of :func:`trajmodes.io.provenance.provenance` by default,
    without inputs or settings)."""
    import netCDF4
    from trajmodes.io.provenance import clean_attrs, provenance
    meta = clean_attrs({**provenance(), **(attrs or {})})

    def write(tmp):
        with netCDF4.Dataset(tmp, "w", format="NETCDF4") as ds:
            ds.setncatts(meta)
            orders = "second-, third- and fourth-order" if getattr(fc, "fc4", None) is not None else (
                "second- and third-order" if fc.fc3 is not None else "second-order")
            ds.title = f"trajmodes {orders} force constants"
            _write_group(ds, fc)
            if getattr(fc, "phonon_fc2", None) is not None:
                _write_group(ds.createGroup("phonon_fc2"), fc.phonon_fc2)
    atomic_write(path, write)


def _write_group(ds, fc) -> None:
    """The variables of one set of constants in an open netCDF file or group (:func:`write_netcdf`)."""
    ds.layout = fc.layout
    ds.createDimension("row", fc.fc2.shape[0])
    ds.createDimension("atom", fc.n_atoms)
    ds.createDimension("prim_atom", fc.n_prim)
    ds.createDimension("cartesian", 3)
    ds.createDimension("cartesian2", 3)
    ds.createDimension("cell_vector", 3)
    ds.createDimension("cell_vector2", 3)
    v = ds.createVariable("fc2", "f8", ("row", "atom", "cartesian", "cartesian2"), zlib=True)
    v.units = "eV/A^2"
    v[:] = fc.fc2
    for name, c, dim in (("supercell", fc.supercell, "atom"), ("primitive", fc.primitive, "prim_atom")):
        v = ds.createVariable(f"{name}_cell", "f8", ("cell_vector", "cartesian"))
        v.units = "Angstrom"
        v[:] = c.cell
        v = ds.createVariable(f"{name}_positions", "f8", (dim, "cartesian"))
        v.units = "Angstrom"
        v[:] = c.positions
        v = ds.createVariable(f"{name}_masses", "f8", (dim,))
        v.units = "amu"
        v[:] = c.masses
        v = ds.createVariable(f"{name}_species", str, (dim,))
        v[:] = np.asarray(c.species, dtype=object)
    ds.createVariable("p2s", "i8", ("prim_atom",))[:] = fc.p2s
    ds.createVariable("supercell_matrix", "i8", ("cell_vector", "cell_vector2"))[:] = fc.smap.matrix
    ds.createVariable("map_atom", "i8", ("atom",))[:] = fc.smap.atom
    ds.createVariable("map_lattice", "i8", ("atom", "cell_vector"))[:] = fc.smap.lattice
    v = ds.createVariable("map_shift", "f8", ("cartesian",))
    v.units = "Angstrom"
    v[:] = fc.smap.shift
    if fc.fc3 is not None:
        ds.createDimension("atom2", fc.n_atoms)
        ds.createDimension("cartesian3", 3)
        v = ds.createVariable("fc3", "f8", ("prim_atom", "atom", "atom2", "cartesian", "cartesian2", "cartesian3"),
                              zlib=True, chunksizes=(1, fc.n_atoms, fc.n_atoms, 3, 3, 3))
        v.units = "eV/A^3"
        v.layout = "compact"
        v[:] = fc.fc3
    q4 = getattr(fc, "fc4", None)
    if q4 is not None:
        ds.createDimension("quartet", len(q4))
        ds.createDimension("site", 4)
        v = ds.createVariable("fc4_sites", "i8", ("quartet", "site"))
        v.long_name = "primitive atom, then three supercell atoms"
        v[:] = q4.sites
        dims = ("quartet",) + ("cartesian", "cartesian2", "cartesian3", "cartesian4")
        if "cartesian3" not in ds.dimensions:
            ds.createDimension("cartesian3", 3)
        ds.createDimension("cartesian4", 3)
        v = ds.createVariable("fc4", "f8", dims, zlib=True)
        v.units = "eV/A^4"
        v[:] = q4.blocks
    if fc.born is not None:
        v = ds.createVariable("born", "f8", ("prim_atom", "cartesian", "cartesian2"))
        v.units = "e"
        v[:] = fc.born
        v = ds.createVariable("epsilon", "f8", ("cartesian", "cartesian2"))
        v.units = "1"
        v[:] = fc.epsilon
        if fc.nac_factor is not None:
            v.nac_factor = fc.nac_factor


#: what to do about a force-constant file that cannot be read
DAMAGED = "The file is incomplete, damaged or not what its name says: write or copy it again"


def first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split("\n")[0].split()) or type(exc).__name__


@contextmanager
def blamed(path):
    """Turn a ValueError of the arrays read from ``path`` into a ForceConstantsFormatError naming the file."""
    try:
        yield
    except ForceConstantsFormatError:
        raise
    except ValueError as exc:
        raise ForceConstantsFormatError(path, str(exc), fix=DAMAGED) from None


def _fc_text_lines(path: Path) -> None:
    """Check that a phonopy FORCE_CONSTANTS text file holds the blocks its first line promises."""
    with open(path, "rb") as f:
        head = f.readline().split()
        n_lines = 1 + sum(1 for line in f if line.strip())
    try:
        rows, cols = (int(x) for x in head[:2]) if len(head) >= 2 else (int(head[0]), int(head[0]))
    except (ValueError, IndexError):
        raise ForceConstantsFormatError(path, "the first line must give the number of atoms (rows, columns)",
                                        line=1, fix=DAMAGED) from None
    want = 1 + 4 * rows * cols
    if n_lines != want:
        raise ForceConstantsFormatError(path, f"it has {n_lines} non-empty lines but its first line ({rows} x "
                                              f"{cols} atom pairs) promises {want}: it is cut short or damaged",
                                        fix=DAMAGED)


def _load_phonopy(phonopy, yaml: Path, fcfile: Path | None, kw: dict):
    """``phonopy.load`` with every failure named by file: the yaml, then the force constants."""
    import yaml as pyyaml
    from phonopy.interface.phonopy_yaml import PhonopyYaml
    try:
        parsed = PhonopyYaml()
        parsed.read(str(yaml))
    except (pyyaml.YAMLError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise ForceConstantsFormatError(yaml, f"not a readable phonopy yaml ({type(exc).__name__}: "
                                              f"{first_line(exc)})", fix=DAMAGED) from None
    # phonopy.load takes FORCE_CONSTANTS, force_constants.hdf5 or FORCE_SETS from the current directory when
    # neither a file is named nor the yaml has constants or forces: another crystal's files would be attached
    if fcfile is None and parsed.force_constants is None and not _has_forces(parsed.dataset):
        raise ForceConstantsFormatError(yaml, "no force constants in it, and no FORCE_CONSTANTS or fc2.hdf5 beside "
                                              "it", fix="Put the force-constants file beside the yaml")
    if fcfile is not None and fcfile.name == "FORCE_CONSTANTS":
        _fc_text_lines(fcfile)
    try:
        ph = phonopy.load(str(yaml), **kw)
    except Exception as exc:          # phonopy, numpy and h5py raise many types
        raise ForceConstantsFormatError(fcfile or yaml, f"phonopy cannot read it ({type(exc).__name__}: "
                                                        f"{first_line(exc)})", fix=DAMAGED) from None
    if ph.force_constants is None:
        raise ForceConstantsFormatError(yaml, "no force constants in it, and no FORCE_CONSTANTS or fc2.hdf5 beside "
                                              "it", fix="Put the force-constants file beside the yaml")
    return ph


def _has_forces(dataset) -> bool:
    """A phonopy displacement dataset with forces (type 1: per displacement; type 2: arrays)."""
    if not dataset:
        return False
    if "forces" in dataset:
        return dataset["forces"] is not None
    return any(d.get("forces") is not None for d in dataset.get("first_atoms", []))


def crystal_from_phonopy(atoms) -> Crystal:
    """Crystal from a PhonopyAtoms."""
    return Crystal(np.asarray(atoms.cell), np.asarray(atoms.scaled_positions) @ np.asarray(atoms.cell),
                   list(atoms.symbols), np.asarray(atoms.masses))


def phonopy_atoms(c: Crystal):
    from phonopy.structure.atoms import PhonopyAtoms
    return PhonopyAtoms(symbols=list(c.species), cell=c.cell, scaled_positions=c.scaled_positions,
                        masses=c.masses)


def supercell_clusters(fc, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair (``order`` 2) or triplet (3) of supercell atoms with a non-zero block, and the blocks: the
    layout of the formats that list the constants of one supercell atom by atom (GPUMD, hiPhive).

    Returns
    -------
    clusters : ndarray of int (n, order)
        In C order of the atom indices.
    blocks : ndarray (n, 3 ** order)
        eV/A^2 or eV/A^3; third-order rows built from the compact layout by lattice translation, one atom at a time.
    """
    N = fc.n_atoms
    if order == 2:
        full = fc.full().reshape(N, N, 9)
        i, j = np.nonzero(np.abs(full).max(axis=2) > 0)
        return np.stack([i, j], axis=1), full[i, j]
    atoms = np.arange(N)
    clusters, blocks = [], []
    for i in range(N):
        cols = fc.compact_columns(i, atoms)
        row = fc.fc3[fc.smap.atom[i]][np.ix_(cols, cols)].reshape(N, N, 27)
        j, k = np.nonzero(np.abs(row).max(axis=2) > 0)
        clusters.append(np.stack([np.full(len(j), i), j, k], axis=1))
        blocks.append(row[j, k])
    return np.concatenate(clusters), np.concatenate(blocks)
