"""The projected DOS by orbit: symmetry-equivalent atoms summed and labelled by species, and by Wyckoff position where a
species has several orbits (as phonopy's projected DOS groups them), in the dataset's coordinates, the figure of
``trajmodes phonons`` and what it prints. Oracles: the Wyckoff positions of wurtzite (P6_3mc: Ga and N on 2b) and of
an fcc-based ordering (P4/mmm, an orbit of four Cu atoms on 4i), and the sum rule (the groups add up to the total)."""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

import trajmodes
from tests.support.morse import morse_fc
from trajmodes.cli import main
from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.symmetry import site_orbits
from trajmodes.plots import plot_bands_dos
from trajmodes.plots.phonons import orbit_dos

A_FCC = 2.866 * np.sqrt(2)        # the Morse minimum as nearest-neighbour distance: a stable fcc lattice


def ordered_fcc() -> Crystal:
    """Eight fcc sites (two conventional cells along x), Al on three of them: P4/mmm with Al on 1a, 1c and 1b and Cu
    on 4i (four atoms) and 1d; the primitive cell itself."""
    base = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]])
    frac = np.concatenate([(base + [i, 0, 0]) * [.5, 1, 1] for i in range(2)])
    cell = np.diag([2 * A_FCC, A_FCC, A_FCC])
    species = ["Al" if k in (0, 1, 4) else "Cu" for k in range(8)]
    return Crystal(cell, frac @ cell, species)


@pytest.fixture(scope="module")
def fc():
    prim = ordered_fcc()
    sc = prim.supercell(np.diag([1, 2, 2]))
    return trajmodes.ForceConstants(morse_fc(sc, cutoff=5.0), sc, prim)


def test_wurtzite_has_one_orbit_per_species():
    a, c, u = 3.19, 5.19, 0.375
    prim = np.array([[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, c]])
    frac = np.array([[1 / 3, 2 / 3, 0], [2 / 3, 1 / 3, 0.5], [1 / 3, 2 / 3, u], [2 / 3, 1 / 3, 0.5 + u]])
    orbits = site_orbits(Crystal(prim, frac @ prim, ["Ga", "Ga", "N", "N"]))
    assert orbits.labels.tolist() == ["Ga", "Ga", "N", "N"] and orbits.wyckoff.tolist() == ["2b"] * 4
    assert [(label, atoms.tolist()) for label, atoms in orbits.groups] == [("Ga", [0, 1]), ("N", [2, 3])]


def test_orbits_with_wyckoff_labels_and_of_a_supercell():
    orbits = site_orbits(ordered_fcc())
    assert orbits.labels.tolist() == ["Al (1a)", "Al (1c)", "Cu (4i)", "Cu (4i)", "Al (1b)", "Cu (1d)", "Cu (4i)",
                                      "Cu (4i)"]
    # a supercell: the whole space group's orbits (not only the operations of its own cell), the same Wyckoff sites
    big = site_orbits(ordered_fcc().supercell(np.diag([2, 1, 1])))
    assert big.labels.tolist() == orbits.labels.tolist() * 2 and big.wyckoff.tolist() == orbits.wyckoff.tolist() * 2
    # two orbits on one Wyckoff letter are numbered
    cell = np.diag([3.0, 3.0, 6.0])
    two = site_orbits(Crystal(cell, np.array([[0, 0, 0], [0, 0, .35], [.5, .5, .2]]) @ cell, ["Cu", "Cu", "Al"]))
    assert two.labels.tolist() == ["Cu (1a, 1)", "Cu (1a, 2)", "Al"]


def test_the_dos_groups_by_orbit_and_sums_to_the_total(fc):
    dos = trajmodes.Phonons(fc).dos(mesh=4)
    assert dos.orbit.values.tolist() == site_orbits(fc.primitive).labels.tolist()
    assert dos.wyckoff.values.tolist() == ["1a", "1c", "4i", "4i", "1b", "1d", "4i", "4i"]
    assert dos.projected.shape[0] == 8                                  # the dataset keeps the atoms
    groups = orbit_dos(dos)
    assert [label for label, _ in groups] == ["Al (1a)", "Al (1c)", "Cu (4i)", "Al (1b)", "Cu (1d)"]
    total = dos.total.values
    assert np.abs(sum(v for _, v in groups) - total).max() < 1e-9 * total.max()
    four = dict(groups)["Cu (4i)"]
    assert np.allclose(four, dos.projected.values[[2, 3, 6, 7]].sum(axis=0))
    assert np.allclose(dos.projected.groupby("orbit").sum().sel(orbit="Cu (4i)").values, four)


def test_the_figure_draws_one_curve_per_orbit(fc):
    ph = trajmodes.Phonons(fc)
    fig = plot_bands_dos(ph.band_structure(npoints=5), ph.dos(mesh=4))
    ax = fig.axes[1]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["total", "Al (1a)", "Al (1c)", "Cu (4i)", "Al (1b)", "Cu (1d)"]
    lines = ax.get_lines()
    assert len(lines) == 6
    assert np.allclose(sum(line.get_xdata() for line in lines[1:]), lines[0].get_xdata())


def test_one_orbit_draws_the_total_alone():
    """Diamond silicon: its two atoms are one orbit, whose DOS is the total: no second curve on top of it."""
    a = 5.43
    cell = a / 2 * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]])
    prim = Crystal(cell, np.array([[0, 0, 0], [.25, .25, .25]]) @ cell, ["Si", "Si"])
    sc = prim.supercell(np.diag([3, 3, 3]))
    ph = trajmodes.Phonons(trajmodes.ForceConstants(morse_fc(sc, r0=2.35, cutoff=4.0), sc, prim))
    dos = ph.dos(mesh=4)
    assert dos.orbit.values.tolist() == ["Si", "Si"] and orbit_dos(dos) == []
    fig = plot_bands_dos(ph.band_structure(npoints=5), dos)
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == ["total"]


def test_phonons_prints_the_orbits(fc, tmp_path):
    fc.write(tmp_path / "fc.nc")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["phonons", str(tmp_path / "fc.nc"), "-o", str(tmp_path / "ph"), "--mesh", "4", "--npoints", "5",
                     "--temperatures", "0:300:100"]) == 0
    assert ("projected DOS by orbit (symmetry-equivalent atoms summed in the figure; per atom in dos.nc): Al (1a): "
            "atom 0; Al (1c): atom 1; Cu (4i): atoms 2, 3, 6, 7; Al (1b): atom 4; Cu (1d): atom 5") in buf.getvalue()
    assert (tmp_path / "ph" / "bands_dos.png").stat().st_size > 10_000
