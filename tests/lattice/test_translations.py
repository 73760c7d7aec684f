"""Lattice translations of big cells without spglib on every atom (trajmodes.lattice.translations): the same primitive
cell, orientation, atom order and space group as spglib on the whole cell, on small cells of every kind; a noisy
snapshot; cells without translations; a ~100,000-atom cell in seconds."""
import time
import warnings

import numpy as np
import pytest

from tests.support.crystals import A_CU, FCC, NONDIAG, diamond_si, supercell
from trajmodes import Crystal
from trajmodes.lattice.crystal import SPGLIB_ATOMS
from trajmodes.lattice.ideal import ideal_crystal, operation_count
from trajmodes.lattice.symmetry import supercell_operations
from trajmodes.lattice.translations import lattice_translations

ROCKSALT = Crystal(np.eye(3) * 5.64, np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0],
                                               [.5, 0, 0], [0, .5, 0], [0, 0, .5], [.5, .5, .5]]) * 5.64,
                   ["Na"] * 4 + ["Cl"] * 4)
_H = np.array([[3.2, 0, 0], [-1.6, 3.2 * 3 ** .5 / 2, 0], [0, 0, 5.2]])
HCP = Crystal(_H, np.array([[1 / 3, 2 / 3, .25], [2 / 3, 1 / 3, .75]]) @ _H, ["Mg", "Mg"])
_O = np.diag([4.1, 5.3, 6.2])
ORTHO = Crystal(_O, np.array([[0, 0, 0], [.5, .5, .5], [.25, .1, .3], [.75, .9, .7], [.1, .6, .2]]) @ _O,
                ["Sr", "Ti", "O", "O", "N"], masses=[87.6, 47.9, 16.0, 16.0, 14.0])
_T = np.array([[4.0, 0.3, 0.2], [0.5, 4.4, 0.1], [0.7, 0.4, 5.1]])
TRICLINIC = Crystal(_T, np.array([[0, 0, 0], [.3, .2, .6], [.7, .4, .1]]) @ _T, ["Si", "O", "O"])


def _fcc(n: int) -> Crystal:
    """n x n x n conventional fcc Cu cells, atoms cell by cell (benchmarks/gen_dump.py's order)."""
    basis = np.array([[0, 0, 0], [.5, .5, 0], [.5, 0, .5], [0, .5, .5]])
    g = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 3)
    pos = ((g[:, None, :] + basis[None]).reshape(-1, 3) * A_CU)
    return Crystal(np.eye(3) * n * A_CU, pos, ["Cu"] * len(pos))


def _shuffled(c: Crystal, seed: int) -> Crystal:
    p = np.random.default_rng(seed).permutation(c.n_atoms)
    return Crystal(c.cell, c.positions[p], c.species[p], c.masses[p])


CASES = {
    "fcc conventional 2": _fcc(2), "fcc conventional 3": _fcc(3), "fcc conventional 5": _fcc(5),
    "fcc non-diagonal": supercell(Crystal(FCC, [[0, 0, 0]], ["Cu"]), NONDIAG, shuffle_seed=3),
    "diamond 3x3x3 shuffled": supercell(diamond_si(), np.diag([3, 3, 3]), shuffle_seed=1),
    "rocksalt 2": ROCKSALT.supercell(2), "rocksalt 2x3x1": ROCKSALT.supercell([2, 3, 1]),
    "rocksalt non-diagonal": ROCKSALT.supercell([[1, 1, 0], [-1, 1, 0], [0, 0, 2]]),
    "rocksalt skew": ROCKSALT.supercell([[2, 1, 0], [0, 2, 1], [1, 0, 2]]),
    "rocksalt 3 shuffled": _shuffled(ROCKSALT.supercell(3), 1),
    "hcp 3x3x2": HCP.supercell([3, 3, 2]), "hcp non-diagonal": HCP.supercell([[2, 1, 0], [0, 2, 0], [1, 0, 3]]),
    "orthorhombic 3 species": ORTHO.supercell([2, 2, 2]),
    "orthorhombic non-diagonal": ORTHO.supercell([[1, 1, 0], [0, 1, 1], [1, 0, 1]]),
    "triclinic": TRICLINIC.supercell([3, 2, 2]), "triclinic non-diagonal": TRICLINIC.supercell([[2, 1, 0], [0, 2, 1], [1, 0, 2]]),
}


def _same_crystal(a: Crystal, b: Crystal, atol: float = 1e-9):
    assert a.n_atoms == b.n_atoms
    assert np.allclose(a.cell, b.cell, rtol=0, atol=atol)
    assert np.allclose(a.positions, b.positions, rtol=0, atol=atol)
    assert np.array_equal(a.species, b.species) and np.array_equal(a.masses, b.masses)


@pytest.mark.parametrize("name", list(CASES))
def test_translations_give_spglibs_primitive_cell(name):
    """The primitive cell found from the translations is spglib's, to the orientation and the order of its atoms;
    the same space group and the same operations and permutations of the supercell."""
    sc = CASES[name]
    ref, fast = sc.primitive(search="spglib"), sc.primitive(search="translations")
    _same_crystal(fast, ref)
    ds = sc.symmetry()
    tr = sc.lattice_translations()
    assert np.array_equal(tr.orbit, ds.mapping_to_primitive)
    assert tr.n_cells * fast.n_atoms == sc.n_atoms
    assert fast.space_group_symbol == ref.space_group_symbol == ds.international
    a, b = supercell_operations(ref, sc.supercell_map(ref)), supercell_operations(fast, sc.supercell_map(fast))
    assert np.array_equal(a.perm, b.perm) and np.allclose(a.rotations, b.rotations)
    # every operation of the supercell (spglib on it): one of the primitive cell's group that keeps the supercell's
    # lattice, times a translation
    assert len(ds.rotations) == tr.n_cells * len(a.rotations) == operation_count(sc, 1e-3, search="translations")


def test_noisy_snapshot_same_lattice_and_atoms():
    """An MD-like snapshot (0.01 A per component) at the tolerance it needs: spglib's lattice and atom groups, the
    averaged positions."""
    sc = ROCKSALT.supercell([[2, 1, 0], [0, 2, 1], [1, 0, 2]])
    noisy = Crystal(sc.cell, sc.positions + np.random.default_rng(0).normal(0, 0.01, sc.positions.shape),
                    sc.species)
    ref, fast = noisy.primitive(0.1, search="spglib"), noisy.primitive(0.1, search="translations")
    assert fast.n_atoms == 2
    _same_crystal(fast, ref, atol=1e-9)
    assert np.array_equal(noisy.lattice_translations(0.1).orbit, noisy.symmetry(0.1).mapping_to_primitive)
    # too tight a tolerance for the noise: no translation, the cell is its own primitive cell (as spglib finds)
    assert noisy.lattice_translations(1e-3).n_cells == 1
    assert noisy.primitive(1e-3, search="translations").n_atoms == noisy.primitive(1e-3, search="spglib").n_atoms


@pytest.mark.parametrize("defect", ["displaced", "substituted", "two substituted"])
def test_defects_break_the_translations_as_spglib_finds(defect):
    """A displaced atom or a substitution leaves no translation (or only those that the defects share): the cell,
    or the cell of the defects' own lattice, exactly as spglib."""
    sc = _fcc(4)
    pos, species = sc.positions.copy(), sc.species.copy()
    if defect == "displaced":
        pos[17] += [0.3, 0, 0]
    else:
        species[5] = "Ag"
        if defect == "two substituted":          # a second Ag half the cell away: that translation survives
            half = (sc.scaled_positions[5] + [0.5, 0, 0]) % 1
            species[np.argmin(np.linalg.norm((sc.scaled_positions - half + 0.5) % 1 - 0.5, axis=1))] = "Ag"
    c = Crystal(sc.cell, pos, species)
    ref, fast = c.primitive(search="spglib"), c.primitive(search="translations")
    _same_crystal(fast, ref)
    assert fast.n_atoms == (128 if defect == "two substituted" else 256)


def test_lattice_translations_checks():
    """The function itself: a single atom; a sample false positive is checked on every atom."""
    one = lattice_translations(FCC, [[0, 0, 0]], [1], 1e-3)
    assert one.n_cells == 1 and np.array_equal(one.orbit, [0])
    sc = _fcc(3)
    tr = lattice_translations(sc.cell, sc.positions, sc.types, 1e-3)
    assert tr.n_cells == 108 and np.allclose(tr.matrix @ tr.basis, sc.cell)
    assert np.array_equal(tr.orbit, np.zeros(108))


def test_ideal_crystal_fast_path_on_a_noisy_snapshot():
    """Above SPGLIB_ATOMS the tolerance scan and the site symmetrisation run on the primitive cell: a noisy rocksalt
    snapshot comes back on exact sites (the rocksalt geometry to 1e-9 A, shifted as a whole by the mean noise)."""
    sc = ROCKSALT.supercell(7)                              # 2744 atoms
    assert sc.n_atoms > SPGLIB_ATOMS
    rng = np.random.default_rng(4)
    noisy = Crystal(sc.cell, sc.positions + rng.normal(0, 0.02, sc.positions.shape), sc.species)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ideal, tol = ideal_crystal(noisy, averaged=True)
    assert 0.001 < tol <= 0.5
    d = (ideal.positions - sc.positions) - (ideal.positions[0] - sc.positions[0])
    f = d @ np.linalg.inv(sc.cell)
    assert np.abs((f - np.rint(f)) @ sc.cell).max() < 1e-9
    assert np.linalg.norm(ideal.positions[0] - sc.positions[0]) < 0.01
    p = ideal.primitive(1e-5)
    assert p.n_atoms == 2 and p.space_group_symbol == "Fm-3m"
    # the operations counted as spglib would count them on the whole ideal cell
    assert operation_count(ideal, 1e-5) == 48 * 343 * 4


def test_a_big_time_average_whose_noise_reaches_past_half_an_angstrom_shows_its_lattice():
    """A time average of few frames over many atoms (2048 fcc Cu atoms, 0.09 A of noise per axis: the offsets of two
    atoms a translation apart reach 0.5-0.6 A, as in the average of 4 frames of 864,000 atoms at 300 K): no lattice up
    to 0.5 A, found beyond it (below a third of the atomic spacing), and the sites recovered to the noise over the
    cells. A snapshot (not averaged) is refused as before."""
    sc = _fcc(8)
    assert sc.n_atoms > SPGLIB_ATOMS
    noisy = Crystal(sc.cell, sc.positions + np.random.default_rng(2).normal(0, 0.09, sc.positions.shape), sc.species)
    assert operation_count(noisy, 0.5, "translations") == 1
    ideal, tol = ideal_crystal(noisy, averaged=True)
    assert 0.5 < tol < 0.35 * (np.linalg.det(sc.cell) / sc.n_atoms) ** (1 / 3)
    d = (ideal.positions - sc.positions) - (ideal.positions - sc.positions).mean(axis=0)
    f = d @ np.linalg.inv(sc.cell)
    assert np.abs((f - np.rint(f)) @ sc.cell).max() < 0.01
    assert ideal.primitive(1e-5).n_atoms == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                   # its warning about the sites of a snapshot
        with pytest.raises(ValueError, match="shows no lattice translations"):
            ideal_crystal(noisy)


def test_a_tolerance_below_the_noise_of_a_big_cell_is_ruled_out_on_a_sample(monkeypatch):
    """42,592 fcc atoms with 0.05 A of noise per axis: at 0.28 A the fcc translations miss a few tenths of a percent
    of the atoms, each by less than twice that. A sample of 8192 atoms shows it, so no check runs on every atom; the
    checks on every atom (the sample test turned off) come to the same answer, and 0.5 A finds the lattice."""
    from trajmodes.lattice import translations
    sc = _fcc(22)
    noisy = Crystal(sc.cell, sc.positions + np.random.default_rng(8).normal(0, 0.05, sc.positions.shape), sc.species)
    full = []
    real_sites = translations._sites
    monkeypatch.setattr(translations, "_sites", lambda *a: full.append(1) or real_sites(*a))
    tr = lattice_translations(noisy.cell, noisy.positions, noisy.types, 0.28)
    assert tr.n_cells == 1 and not full
    monkeypatch.setattr(translations, "_NOISE_SAMPLE", noisy.n_atoms)
    tr = lattice_translations(noisy.cell, noisy.positions, noisy.types, 0.28)
    assert tr.n_cells == 1 and full
    assert lattice_translations(noisy.cell, noisy.positions, noisy.types, 0.5).n_cells == noisy.n_atoms


def test_a_vector_that_misses_a_sample_beyond_the_noise_is_ruled_out_without_a_check_on_every_atom(monkeypatch):
    """42,592 fcc atoms with 0.05 A of noise per axis: at 0.18 A the fcc translations, made exact, miss about a tenth
    of the atoms (more than noise alone: NOISE_SHARE), which a sample of 8192 atoms shows: each such candidate is
    ruled out there, with no check on every atom (the KD-tree pass over all of them: 1.1 s at 10^6 atoms); with the
    sample test turned off the checks on every atom come to the same answer, and the scan of ``ideal_crystal`` to the
    same tolerance and sites."""
    from trajmodes.lattice import translations
    sc = _fcc(22)
    noise = np.random.default_rng(9).normal(0, 0.05, sc.positions.shape)
    full = []
    real_sites, real_check = translations._sites, translations._orbits_checked
    monkeypatch.setattr(translations, "_sites", lambda *a: full.append(1) or real_sites(*a))
    monkeypatch.setattr(translations, "_orbits_checked", lambda *a: full.append(2) or real_check(*a))
    found = {}
    for shortcut in (True, False):
        if not shortcut:
            monkeypatch.setattr(translations, "_NOISE_SAMPLE", sc.n_atoms)
        noisy = Crystal(sc.cell, sc.positions + noise, sc.species)     # a new crystal: nothing cached from the other
        full.clear()
        tr = lattice_translations(noisy.cell, noisy.positions, noisy.types, 0.18)
        assert tr.n_cells == 1 and (not full if shortcut else full), full
        ideal, tol = ideal_crystal(Crystal(sc.cell, sc.positions + noise, sc.species), averaged=True)
        found[shortcut] = ideal.positions, tol
    assert found[True][1] == found[False][1] and np.array_equal(found[True][0], found[False][0])


def test_tolerance_scan_goes_on_past_spglibs_own_errors():
    """Two atoms of a noisy snapshot 0.09 A apart: spglib (2.8) raises "too close distance between atoms" at every
    tolerance above that; the scan counts no symmetry there and ends with its own message, not spglib's (it stopped
    with "spglib found no symmetry at symprec=0.5")."""
    sc = supercell(Crystal(FCC, [[0, 0, 0]], ["Cu"]), 4 * np.eye(3, dtype=int))
    pos = sc.positions + np.random.default_rng(0).normal(0, 0.02, sc.positions.shape)
    pos[1] = pos[0] + 0.05
    assert operation_count(Crystal(sc.cell, pos, sc.species), 0.5) == 1
    with pytest.raises(ValueError, match="shows no lattice translations"):
        ideal_crystal(Crystal(sc.cell, pos, sc.species))


def test_tolerance_scan_below_the_noise_never_tests_every_atom(monkeypatch):
    """The tolerance scan of a noisy big cell (32,000 fcc atoms, 0.05 A of noise): at tolerances below the noise the
    candidates of the search stop at about SPGLIB_ATOMS atoms (before, the ball grew to the whole cell, every atom a
    candidate: 51 s of an 864,000-atom fit's 134 s), the KD-trees are built once for all tolerances, and the chosen
    tolerance still finds the fcc lattice."""
    from trajmodes.lattice import translations
    sc = _fcc(20)
    noisy = Crystal(sc.cell, sc.positions + np.random.default_rng(5).normal(0, 0.05, sc.positions.shape), sc.species)
    sizes, built = [], []
    real_candidates, real_finder = translations._candidates, translations._Finder
    monkeypatch.setattr(translations, "_candidates", lambda *a: sizes.append(len(real_candidates(*a))) or
                        real_candidates(*a))
    monkeypatch.setattr(translations, "_Finder", lambda *a: built.append(1) or real_finder(*a))
    assert operation_count(noisy, 0.002) == 1
    assert max(sizes) < 8 * SPGLIB_ATOMS < noisy.n_atoms
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ideal, tol = ideal_crystal(noisy, averaged=True)
    assert len(built) == 1 and max(sizes) < 8 * SPGLIB_ATOMS
    assert ideal.primitive(1e-5).n_atoms == 1 and tol > 0.05


@pytest.mark.parametrize("symprec", [0.3, 0.6, 0.9])
def test_an_atom_pushed_onto_another_ends_the_search_at_once(symprec):
    """864 noisy fcc atoms, one pushed 0.3 A from another and its own site left empty: no translation maps the cell
    onto itself. Every candidate sends the pushed pair onto one atom and a different atom onto the empty site, so
    the sample test lets false survivors through; the search rules the pair out for all of them in one test (before,
    it went through one full check per candidate, minutes, or found the same basis for ever)."""
    import signal
    sc = _fcc(6)
    pos = sc.positions + np.random.default_rng(7).normal(0, 0.05, sc.positions.shape)
    pos[10] = pos[500] + np.array([0.3, 0.0, 0.0])

    def too_long(*_):
        raise TimeoutError(f"lattice_translations at symprec {symprec} A ran past 20 s")
    old = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(20)
    try:
        t0 = time.perf_counter()
        found = lattice_translations(sc.cell, pos, np.zeros(len(pos), int), symprec)
        took = time.perf_counter() - t0
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert found.n_cells == 1 and took < 5


def test_hundred_thousand_atoms_in_seconds():
    """A 108,000-atom fcc cell (30^3 conventional cells): primitive cell, space group and supercell map in a few
    seconds, equal to those spglib gives on a small cell of the same crystal (spglib on the whole cell takes ~10
    minutes)."""
    sc = _fcc(30)
    t = time.perf_counter()
    prim = sc.primitive()
    smap = sc.supercell_map(prim)
    took = time.perf_counter() - t
    _same_crystal(prim, _fcc(3).primitive(search="spglib"), atol=1e-9)
    assert prim.space_group_symbol == "Fm-3m" and len(prim.symmetry().rotations) == 48
    assert smap.n_cells == 108000 and np.allclose(sc.ideal_positions(prim, smap), sc.positions, atol=1e-9)
    assert took < 20, f"{took:.1f} s"


@pytest.mark.slow
def test_hundred_thousand_atoms_operations():
    """The same cell's 48 operations as permutations of its atoms (the fit's symmetry), those of a small cell."""
    sc = _fcc(30)
    prim = sc.primitive()
    ops = supercell_operations(prim, sc.supercell_map(prim))
    small = _fcc(3)
    ref = supercell_operations(small.primitive(), small.supercell_map(small.primitive()))
    assert np.allclose(ops.rotations, ref.rotations) and np.array_equal(ops.prim_perm, ref.prim_perm)
    assert np.array_equal(np.sort(ops.perm, axis=1), np.broadcast_to(np.arange(sc.n_atoms), ops.perm.shape))


@pytest.mark.slow          # 16 s: spglib's dataset of the noisy 500-atom cell at each of 11 tolerances
def test_ideal_crystal_when_spglibs_lattice_is_skewed_by_the_tolerance():
    """A short run's time average (rms 0.03 A per component, 500 fcc atoms: below SPGLIB_ATOMS) shows its most
    operations at a tolerance where spglib's primitive lattice is skewed (a vector 0.18 A off) and maps no atom onto
    its sites: the lattice translations found directly at that tolerance give the fcc crystal."""
    a = A_CU
    g = np.arange(5)
    cells = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    basis = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]])
    sites = (cells[:, None] + basis[None]).reshape(-1, 3) * a
    noisy = sites + np.random.default_rng(0).normal(0.0, 0.03, sites.shape)
    crystal = Crystal(np.eye(3) * 5 * a, noisy, ["Cu"] * 500, [63.546] * 500)
    ideal, tol = ideal_crystal(crystal, averaged=True)
    primitive = ideal.primitive(tol)
    assert primitive.n_atoms == 1
    assert abs(primitive.volume - a ** 3 / 4) < 1e-9
    frac = ideal.positions / (a / 2)
    assert np.abs(frac - np.rint(frac) - (frac - np.rint(frac)).mean(axis=0)).max() < 1e-9   # on the fcc sites


def test_tolerance_scan_stops_at_the_most_operations_a_crystal_can_have(monkeypatch):
    """The scan of a noisy time average stops at the first tolerance that finds 48 operations per atom of a
    one-species cell (no tolerance can find more; ties go to the smaller): the same tolerance and sites as counting at
    every tolerance, with the larger tolerances left uncounted (4 s each at 864,000 atoms)."""
    from trajmodes.lattice import ideal as ideal_module
    sc = _fcc(10)                                                  # 4000 atoms, above SPGLIB_ATOMS
    noisy = Crystal(sc.cell, sc.positions + np.random.default_rng(8).normal(0, 0.03, sc.positions.shape), sc.species)
    tols = 0.001 * 2.0 ** np.arange(0, 12)
    tols = np.append(tols[tols < 0.5], 0.5)
    counts = [operation_count(noisy, float(t)) for t in tols]
    best = int(np.argmax(counts))                                  # the first of the most, as the full scan chose
    assert counts[best] == 48 * sc.n_atoms and best < len(tols) - 1
    counted = []
    real = ideal_module.operation_count
    monkeypatch.setattr(ideal_module, "operation_count", lambda c, t, *a: counted.append(t) or real(c, t, *a))
    ideal, tol = ideal_crystal(noisy, averaged=True)
    assert tol == pytest.approx(tols[best])
    assert counted == pytest.approx(list(tols[:best + 1]))
    d = (ideal.positions - sc.positions) - (ideal.positions[0] - sc.positions[0])
    f = d @ np.linalg.inv(sc.cell)
    assert np.abs((f - np.rint(f)) @ sc.cell).max() < 1e-9


@pytest.mark.parametrize("sigma", [0.02, 0.04])
def test_a_tolerance_below_the_noise_is_given_up_after_one_pass(monkeypatch, sigma):
    """A noisy time average at a tolerance its noise exceeds: the shortest lattice vector, made exact, still misses a
    few atoms by less than twice the tolerance, so every translation misses alike and the search stops there (the
    check of the atoms' sites tells it, with no search of the KD-tree on every atom) instead of testing every other
    candidate on all atoms (16 passes here, 12 s at 864,000 atoms): the same tolerance and the same ideal sites as the
    search that tests them all."""
    from trajmodes.lattice import translations
    sc = _fcc(10)                                                  # 4000 atoms, above SPGLIB_ATOMS
    real_check, real_noise = translations._orbits_checked, translations._missed_by_noise
    passes = []
    monkeypatch.setattr(translations, "_orbits_checked", lambda *a: passes.append(1) or real_check(*a))
    found = {}
    for shortcut in (True, False):
        noisy = Crystal(sc.cell, sc.positions + np.random.default_rng(8).normal(0, sigma, sc.positions.shape),
                        sc.species)                                # a new crystal: nothing cached from the other run
        monkeypatch.setattr(translations, "_missed_by_noise", real_noise if shortcut else lambda *a: False)
        passes.clear()
        ideal, tol = ideal_crystal(noisy, averaged=True)
        found[shortcut] = ideal, tol, len(passes)
    (ideal, tol, n), (ideal_all, tol_all, n_all) = found[True], found[False]
    assert tol == tol_all and np.array_equal(ideal.positions, ideal_all.positions)
    assert n == 0 and n_all >= 10, (n, n_all)


def _first_triple_by_loops(cart, v0, n_cells, symprec, pairs):
    """spglib's search written out: pairs (i, j) in order, the first k > j of the right volume (mat_Nint)."""
    from trajmodes.lattice.translations import _nint
    tried = 0
    for i in range(len(cart)):
        for j in range(i + 1, len(cart)):
            vol = np.abs(cart[j + 1:] @ np.cross(cart[i], cart[j]))
            ok = (vol > symprec) & (_nint(v0 / np.where(vol > 0, vol, 1.0)) == n_cells)
            if ok.any():
                return i, j, j + 1 + int(np.flatnonzero(ok)[0])
            tried += 1
            if tried >= pairs:
                return None
    return None


def test_first_triple_of_a_primitive_volume_is_spglibs_in_its_order():
    """The blocked search of spglib's basis (all pairs' volumes with a block of vectors in one product) finds the
    triple the pair-by-pair loops find, on exact, slightly and strongly noisy lattice vectors of 2 to 9,000 atoms."""
    from trajmodes.lattice.translations import _first_triple
    rng = np.random.default_rng(0)
    found = 0
    for t in range(150):
        n = int(rng.integers(2, 40)) if t % 2 else int(rng.integers(200, 9000))
        P = np.eye(3) + rng.normal(size=(3, 3)) * 0.2
        cart = rng.integers(-3, 4, size=(n, 3)) @ P + rng.normal(size=(n, 3)) * [0, 1e-3, 0.05][t % 3]
        n_cells = int(rng.integers(1, 400))
        v0, pairs = abs(np.linalg.det(P)) * n_cells, int(rng.choice([3, 50, 256]))
        expected = _first_triple_by_loops(cart, v0, n_cells, 1e-3, pairs)
        assert _first_triple(cart, v0, n_cells, 1e-3, pairs) == expected, t
        found += expected is not None
    assert 50 < found < 150


@pytest.mark.parametrize("name", ["fcc non-diagonal", "diamond 3x3x3 shuffled", "rocksalt skew", "hcp non-diagonal",
                                  "triclinic non-diagonal"])
def test_the_ideal_sites_of_a_noisy_cell_keep_the_translations_found(name):
    """The ideal crystal of a noisy big cell is built on the lattice found: it takes those translations as its own
    (no search on its atoms), with the basis and orbits the search on its atoms gives, so its primitive cell is the
    one searched for (orientation included)."""
    c = CASES[name]
    reps = int(np.ceil((SPGLIB_ATOMS + 1) / c.n_atoms) ** (1 / 3)) + 1
    big = c.supercell([[reps, 0, 0], [0, reps, 0], [0, 0, reps]]) if c.n_atoms <= SPGLIB_ATOMS else c
    noisy = Crystal(big.cell, big.positions + np.random.default_rng(5).normal(0, 0.03, big.positions.shape),
                    big.species, big.masses)
    ideal, tol = ideal_crystal(noisy, averaged=True)
    assert ideal.n_atoms > SPGLIB_ATOMS and float(tol) in ideal._translations        # taken, not searched
    fresh = Crystal(ideal.cell, ideal.positions, ideal.species, ideal.masses)
    a, b = ideal.lattice_translations(tol), fresh.lattice_translations(tol)
    assert np.array_equal(a.matrix, b.matrix) and np.array_equal(a.orbit, b.orbit)
    np.testing.assert_allclose(a.basis, b.basis, rtol=0, atol=1e-9)
    _same_crystal(ideal.primitive(tol), fresh.primitive(tol))
