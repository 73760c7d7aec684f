"""trajmodes' own netCDF4 force-constant files: fc2 in its layout, fc3 as its triplets, fc4 as its quartets, the Born
charges and dielectric tensor, an fc2 of a larger supercell for the phonons (a group), with the crystals and the
supercell map; and, where the constants were fitted with a committee of learned potentials, every member's constants
(the group ``committee``: :func:`write_netcdf` ``members=``, read one member at a time with :func:`read_netcdf`
``member=``)."""
from __future__ import annotations

import os

import numpy as np

from trajmodes.errors import DAMAGED, ForceConstantsFormatError, blamed
from trajmodes.io.forceconstants.base import FCFormat
from trajmodes.io.filesystem import atomic_write
from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.supercell import SupercellMap

__all__ = ["FORMAT", "COMMITTEE_GROUP", "read_netcdf", "write_netcdf"]

#: the group of a file that holds a committee's members (dimension ``member``; variables ``fc2``, ``fc3``, ``fc4``),
#: and the global attribute that counts them
COMMITTEE_GROUP, COMMITTEE_ATTR = "committee", "committee_members"


#: the file of the constants in the folder ``trajmodes fit -o`` writes (beside fc.scores.nc, fc.cutoffs.nc, fc.png)
FIT_FILE = "fc.nc"


def read_netcdf(path: str | os.PathLike, member: int | None = None) -> tuple[dict, str]:
    """Read a file written by :func:`write_netcdf` (or the ``fc.nc`` of a folder ``trajmodes fit -o`` wrote): the keywords of
    :class:`~trajmodes.forceconstants.model.ForceConstants` and the file to name if they are inconsistent.

    ``member`` (0 to M - 1): the constants of that member of the committee the file holds (``ForceConstants.read(path,
    member=m)``; its global attribute ``committee_members`` says M, absent where it holds none): the file's crystals,
    map and Born charges with the member's fc2 (compact), fc3 and fc4. Default: the fitted constants themselves."""
    import netCDF4
    if os.path.isdir(path):                          # the folder `trajmodes fit -o` wrote: its constants
        path = os.path.join(path, FIT_FILE)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{os.fspath(path)}: no such file")
    try:
        with netCDF4.Dataset(path) as ds:
            try:
                data, where = _from_dataset(ds, path)
            except (KeyError, IndexError) as exc:
                what, fix = _not_constants(ds, path, exc)
                raise ForceConstantsFormatError(path, what, fix=fix) from None
            return (data, where) if member is None else (_member(ds, data, member, path), where)
    except OSError as exc:
        raise ForceConstantsFormatError(path, f"netCDF cannot open it ({exc})", fix=DAMAGED) from None


#: the variables of the crystals and map every file of :func:`write_netcdf` holds: a netCDF file without any of them
#: holds no constants (``fc2`` alone does not say it: a series' file holds its runs' fc2 parameters under that name)
_CONSTANTS_VARIABLES = ("supercell_cell", "primitive_cell", "p2s", "map_atom", "supercell_matrix")


def _not_constants(ds, path, missing) -> tuple[str, str]:
    """What is wrong with the netCDF file ``ds`` at ``path`` that lacks the variable ``missing`` of force constants,
    and what to do: a file with some of :data:`_CONSTANTS_VARIABLES` is incomplete; one without any holds something
    else (the scores, cutoffs or figure data a fit writes beside ``fc.nc``, a trajectory cache, another program's
    file): said as such, with the ``fc.nc`` beside it where there is one."""
    if any(name in ds.variables for name in _CONSTANTS_VARIABLES):
        return (f"it has no variable {missing}: not a trajmodes force-constants file, or an incomplete one",
                DAMAGED)
    names = sorted(ds.variables)
    held = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "") if names else "none"
    whose = "a netCDF file trajmodes wrote" if "trajmodes_version" in ds.ncattrs() else "a netCDF file"
    what = f"{whose}, but no force constants (its variables: {held})"
    if "run" in ds.dimensions and "fc2" in ds.variables:
        return what + "; a series of runs (trajmodes series) keeps the parameters of each run's fc2, not constants "\
            "to compute with", ("Fit the run of the temperature you want (trajmodes fit RUN --cutoff3 ... -o FOLDER) "
                                "and give that folder")
    folder = os.path.dirname(os.path.abspath(path))
    beside = os.path.join(os.path.dirname(os.fspath(path)), FIT_FILE)
    if os.path.basename(os.fspath(path)) != FIT_FILE and os.path.isfile(os.path.join(folder, FIT_FILE)):
        return what, (f"The constants of its folder are {beside} (trajmodes fit writes them there): give that file, "
                      "or the folder")
    return what, ("Give the fc.nc that trajmodes fit wrote (or its folder), or another code's constants "
                  "(trajmodes convert-fc lists the formats)")


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
    fc3 = _file_fc3(ds, get("fc3")) if "fc3" in ds.variables else None
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


def _file_fc3(ds, blocks: np.ndarray):
    """The fc3 of the file ``ds`` as :class:`~trajmodes.forceconstants.model.ForceConstants` takes it: its triplets
    ``fc3_sites`` (T, 3: primitive atom, two supercell atoms) and their ``blocks`` (T, 3, 3, 3) in eV/Å³, never the
    dense array. A file of an older trajmodes, without ``fc3_sites``, holds the compact array itself: ``blocks`` as
    they are."""
    if "fc3_sites" not in ds.variables:
        return blocks
    return np.asarray(ds["fc3_sites"][:], dtype=np.int64), blocks


def _fc3_sites(fcs) -> np.ndarray:
    """The triplets (T, 3: primitive atom, two supercell atoms; int64, in C order) where the third order of any of
    the constants ``fcs`` (on one supercell) has a block with a bit set (-0.0 and NaN count: the file gives every
    array back bit for bit), from their triplets (:attr:`ForceConstants.fc3_sparse`), not the dense arrays."""
    N = fcs[0].n_atoms
    sites = np.concatenate([f.fc3_sparse.nonzero().sites for f in fcs])
    keys = np.unique((sites[:, 0] * N + sites[:, 1]) * N + sites[:, 2])
    return np.column_stack([keys // (N * N), keys // N % N, keys % N]).astype(np.int64)


def _member(ds, data: dict, member, path) -> dict:
    """The keywords ``data`` of the file ``ds`` with the constants of its committee's ``member`` in place of the
    fitted ones (:func:`read_netcdf`)."""
    group = ds.groups.get(COMMITTEE_GROUP)
    n = 0 if group is None else len(group.dimensions["member"])
    if not n:
        raise ValueError(f"{os.fspath(path)} holds no committee's members (trajmodes fit writes them where the run "
                         "carries a committee of learned potentials): read it without member=")
    if isinstance(member, bool) or not isinstance(member, (int, np.integer)) or not 0 <= member < n:
        raise ValueError(f"{os.fspath(path)} holds the constants of {n} committee members: member must be 0 to "
                         f"{n - 1}, not {member!r}")
    group.set_auto_mask(False)
    m = int(member)
    fc4 = data.get("fc4")
    return dict(data, fc2=np.asarray(group["fc2"][m]),
                fc3=_file_fc3(ds, np.asarray(group["fc3"][m])) if "fc3" in group.variables else None,
                fc4=None if fc4 is None else (fc4[0], np.asarray(group["fc4"][m])))


def _check_members(fc, members) -> list:
    """``members`` as a list of constants on the supercell of ``fc`` with the same orders and the same fourth-order
    quartets (:func:`write_netcdf`), or a ValueError that says which member differs and how."""
    members = list(members)
    if len(members) < 2:
        raise ValueError(f"members= takes the constants of every member of a committee (2 or more), not {len(members)}")
    if getattr(fc, "phonon_fc2", None) is not None:
        raise ValueError("members= is for the constants of one fit (a committee's members share the file's supercell): "
                         "these constants carry an fc2 of a larger supercell (phonon_fc2), which the members do not")
    q4 = getattr(fc, "fc4", None)
    for i, m in enumerate(members):
        what = []
        if m.n_atoms != fc.n_atoms or m.n_prim != fc.n_prim or not np.array_equal(m.p2s, fc.p2s):
            what.append(f"another supercell ({m.n_atoms} atoms, {m.n_prim} primitive)")
        if (m.fc3_sparse is None) != (fc.fc3_sparse is None):
            what.append("fc3 " + ("missing" if m.fc3_sparse is None else "where the constants have none"))
        m4 = getattr(m, "fc4", None)
        if (m4 is None) != (q4 is None) or (q4 is not None and not np.array_equal(m4.sites, q4.sites)):
            what.append("other fourth-order quartets")
        if (m.born is None) != (fc.born is None):
            what.append("Born charges " + ("missing" if m.born is None else "where the constants have none"))
        if what:
            raise ValueError(f"committee member {i} differs from the constants it is written beside: "
                             f"{', '.join(what)}; give the members of the same fit (committee_force_constants_)")
    return members


def write_netcdf(fc, path: str | os.PathLike, attrs: dict | None = None, members=None) -> None:
    """Write force constants as trajmodes' own netCDF4 file (atomic: a failed write leaves no partial file).

    fc2 in its layout (``fc2``, eV/Å²); fc3, when set, as its triplets with a nonzero block: ``fc3_sites``
    (triplet, 3: primitive atom, two supercell atoms) and blocks ``fc3`` (triplet, 3, 3, 3), eV/Å³ (the compact
    (n_prim, N, N, 3, 3, 3) array is nearly all zeros: 3.5 GB for 4000 atoms); fc4, when set, as its quartets
    ``fc4_sites`` and blocks ``fc4`` (eV/Å⁴); the Born charges and dielectric tensor (``ForceConstants.write``
    writes full constants); an fc2 of a larger supercell for the phonons (``phonon_fc2``, phono3py's ``--dim-fc2``)
    as the group ``phonon_fc2``, laid out as the file. ``attrs``: global attributes to add (the provenance of
    :func:`trajmodes.io.provenance.provenance` by default, without inputs or settings).

    ``members``: the constants of every member of a committee of learned potentials fitted with ``fc`` (the same
    supercell, orders and quartets: ``EffectiveForceConstants.committee_force_constants_``), written into the group
    ``committee`` beside them, their constants along a dimension ``member`` (M): ``fc2`` compact (member, prim_atom,
    atom, 3, 3) eV/Å², ``fc3`` (member, triplet, 3, 3, 3) eV/Å³ on the file's ``fc3_sites`` (the triplets where
    the constants or any member have a nonzero block) and ``fc4`` (member, quartet,
    3, 3, 3, 3) eV/Å⁴ where ``fc`` has them; the global attribute ``committee_members`` = M. Readers of the fitted
    constants pass the group by; :func:`read_netcdf` ``member=`` reads one member."""
    import netCDF4
    from trajmodes.io.provenance import clean_attrs, provenance
    meta = clean_attrs({**provenance(), **(attrs or {})})
    if members is not None:
        members = [m.with_convention(FORMAT.convention) for m in _check_members(fc, members)]
        meta[COMMITTEE_ATTR] = len(members)

    def write(tmp):
        with netCDF4.Dataset(tmp, "w", format="NETCDF4") as ds:
            ds.setncatts(meta)
            orders = "second-, third- and fourth-order" if getattr(fc, "fc4", None) is not None else (
                "second- and third-order" if fc.fc3_sparse is not None else "second-order")
            ds.title = f"trajmodes {orders} force constants"
            _write_group(ds, fc, [fc] + (members or []))
            if getattr(fc, "phonon_fc2", None) is not None:
                _write_group(ds.createGroup("phonon_fc2"), fc.phonon_fc2)
            if members is not None:
                _write_members(ds, members)
    atomic_write(path, write)


def _write_members(ds, members) -> None:
    """The group ``committee`` of an open file whose root :func:`_write_group` wrote (:func:`write_netcdf`)."""
    g = ds.createGroup(COMMITTEE_GROUP)
    g.long_name = (f"the force constants of each of the {len(members)} members of a committee of learned potentials, "
                   "fitted to the same frames as the file's")
    g.createDimension("member", len(members))
    v = g.createVariable("fc2", "f8", ("member", "prim_atom", "atom", "cartesian", "cartesian2"), zlib=True)
    v.units, v.layout = "eV/A^2", "compact"
    v[:] = np.stack([m.compact() for m in members])
    if members[0].fc3_sparse is not None:
        sites = np.asarray(ds["fc3_sites"][:], dtype=np.int64)
        v = g.createVariable("fc3", "f8", ("member", "triplet", "cartesian", "cartesian2", "cartesian3"), zlib=True)
        v.units = "eV/A^3"
        v.long_name = "the blocks of the triplets fc3_sites of the file"
        for i, m in enumerate(members):
            v[i] = m.fc3_sparse.at(sites)
    if getattr(members[0], "fc4", None) is not None:
        v = g.createVariable("fc4", "f8", ("member", "quartet", "cartesian", "cartesian2", "cartesian3",
                                           "cartesian4"), zlib=True)
        v.units = "eV/A^4"
        v.long_name = "the blocks of the quartets fc4_sites of the file"
        v[:] = np.stack([m.fc4.blocks for m in members])


def _write_group(ds, fc, fc3_of=None) -> None:
    """The variables of one set of constants in an open netCDF file or group (:func:`write_netcdf`); fc3 on the
    triplets where any of ``fc3_of`` (constants on the supercell of ``fc``; default ``[fc]``) has a nonzero block."""
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
    if fc.fc3_sparse is not None:
        sites = _fc3_sites(fc3_of or [fc])
        ds.createDimension("triplet", len(sites))
        ds.createDimension("site3", 3)
        ds.createDimension("cartesian3", 3)
        v = ds.createVariable("fc3_sites", "i8", ("triplet", "site3"))
        v.long_name = "primitive atom, then two supercell atoms"
        v[:] = sites
        v = ds.createVariable("fc3", "f8", ("triplet", "cartesian", "cartesian2", "cartesian3"), zlib=True)
        v.units = "eV/A^3"
        v.long_name = "the blocks of the triplets fc3_sites; zero at every other triplet"
        v[:] = fc.fc3_sparse.at(sites)
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


#: the format, as :mod:`trajmodes.io.forceconstants.registry` lists it
FORMAT = FCFormat("netcdf", "trajmodes netCDF", read_netcdf, write_netcdf, marks=(FIT_FILE,), suffixes=(".nc",),
                  written_suffix=".nc")
