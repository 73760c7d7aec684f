"""Effective harmonic force constants of a path-integral run from the static Kubo correlators of its centroid.

M. Morresi, L. Paulatto, R. Vuilleumier and M. Casula, J. Chem. Phys. 154, 224108 (2021): the static Kubo-transformed
correlation function of two position-like operators equals the covariance of their ring-polymer centroids, so the
quantum crystal's static displacement-displacement and force-force correlators are centroid averages of a path-integral
run. Two estimators of the effective constants follow, both exact for a harmonic crystal (for any number of beads):

- displacement-displacement (:class:`KuboDisplacementConstants`):

      Phi = k_B T [<du_c du_c^T>]^+,

  u_c the centroid displacement (the bead average), du_c = u_c - <u_c>, on the supercell (3N, 3N). The uniform
  translation is taken out of every frame first (u_c minus its mean over the atoms): the remaining coordinates y have
  the density exp(-y Phi y / 2 k_B T) of the centroid's classical-like effective potential whatever the centre of mass
  does, so the covariance <dy dy^T> (A^2) is k_B T Phi^+ exactly, its null space is the three uniform translations,
  and Phi follows by the pseudo-inverse on the other 3N - 3 directions (eV/A^2, the acoustic sum rule exact).
- force-force (:class:`KuboForceConstants`):

      Phi = <dF_c dF_c^T> / k_B T,

  F_c the centroid force, the bead average of the physical forces (eV/A), its net force over the atoms taken out of
  every frame; for a harmonic crystal F_c = -Phi u_c, so <dF_c dF_c^T> = Phi (k_B T Phi^+) Phi = k_B T Phi.

For an anharmonic crystal the two differ (and differ from the bead fit of
:class:`~trajmodes.forceconstants.fit.EffectiveForceConstants`); Morresi et al. discuss their combination.

Symmetry. Both covariances are invariant tensors of the supercell's space group, with zero uniform row sums, like force
constants: each is symmetrised as force constants are (:meth:`~trajmodes.forceconstants.model.ForceConstants.symmetrize`:
the lattice translations and point operations of the supercell, permutation symmetry and the sum rule) before it is
used. For the displacement estimator this comes before the inverse, which removes most of the noise that the inverse
of a sample covariance turns into a bias: unsymmetrised, E[C^-1] = C^-1 (n - 1) / (n - p - 2) for n independent frames
and p = 3N - 3 directions, a 5 % bias at 72 atoms and 4000 frames; symmetrised, the few independent entries per
q-point are estimated from every cell's frames alike. The result is symmetrised again.

Error bars: the delete-one-block jackknife over ``blocks`` contiguous blocks of frames (M. H. Quenouille, Biometrika
43, 353 (1956); blocks of time for correlated data: H. Flyvbjerg and H. G. Petersen, J. Chem. Phys. 91, 461 (1989)).
With theta_b the estimate from every block but b and theta_bar their mean,

    var(theta) = (B - 1) / B sum_b (theta_b - theta_bar)^2,      bias(theta) = (B - 1) (theta_bar - theta),

for any function of the constants (:meth:`KuboDisplacementConstants.jackknife`). A block must be longer than the
correlation time of the centroid (or the error bars are too small); independent frames (exact samples) need nothing.

One pass. The sums are taken in one pass over the centroid trajectory (:class:`CentroidSums`, an accumulator of
:class:`~trajmodes.trajectory.passes.Pass`), per block of frames: the number of frames, sum y, sum y y^T, and with
forces sum F, sum F F^T; 2 B (3N)^2 doubles, never the frames.
"""
from __future__ import annotations

import uuid

import numpy as np

from trajmodes.forceconstants import ForceConstants
from trajmodes.lattice import Crystal
from trajmodes.lattice.spglib_calls import SYMPREC
from trajmodes.resources import require_memory
from trajmodes.trajectory import Accumulator
from trajmodes.units import KB_EV

__all__ = ["BlockSums", "CentroidSums", "KuboDisplacementConstants", "KuboForceConstants", "DEFAULT_BLOCKS"]

#: contiguous blocks of frames of the jackknife error bars
DEFAULT_BLOCKS = 16


class BlockSums:
    """The centroid's sums per block of frames (module docstring).

    Attributes
    ----------
    counts : ndarray (B,)
        Frames per block.
    y, yy : ndarray (B, 3N), (B, 3N, 3N)
        Sums of the displacements with their uniform translation taken out (A) and of their outer products (A^2).
    f, ff : ndarray (B, 3N), (B, 3N, 3N), or None
        Sums of the forces with their net force taken out (eV/A) and of their outer products; None without forces.
    """

    def __init__(self, counts, y, yy, f=None, ff=None):
        self.counts = np.asarray(counts, dtype=float)
        self.y, self.yy = np.asarray(y, float), np.asarray(yy, float)
        self.f = None if f is None else np.asarray(f, float)
        self.ff = None if ff is None else np.asarray(ff, float)

    @property
    def n_blocks(self) -> int:
        return len(self.counts)

    @classmethod
    def of_frames(cls, displacements, forces=None, blocks: int = DEFAULT_BLOCKS, start: int = 0,
                  n_frames: int | None = None) -> "BlockSums":
        """The sums of frames held in memory: ``displacements`` (frames, N, 3) A, ``forces`` (frames, N, 3) eV/A,
        the frames being ``start``, ``start + 1``, ... of a run of ``n_frames`` (default these alone) cut into
        ``blocks`` blocks of equal length."""
        u = np.asarray(displacements, dtype=float)
        n, N = u.shape[0], u.shape[1]
        total = n if n_frames is None else int(n_frames)
        block = (np.arange(start, start + n) * int(blocks)) // max(total, 1)
        y = (u - u.mean(axis=1, keepdims=True)).reshape(n, 3 * N)
        f = None
        if forces is not None:
            F = np.asarray(forces, dtype=float).reshape(u.shape)
            f = (F - F.mean(axis=1, keepdims=True)).reshape(n, 3 * N)
        B, d = int(blocks), 3 * N
        counts, sy, syy = np.zeros(B), np.zeros((B, d)), np.zeros((B, d, d))
        sf, sff = (None, None) if f is None else (np.zeros((B, d)), np.zeros((B, d, d)))
        for b in np.unique(block):
            rows = block == b
            counts[b] = rows.sum()
            sy[b], syy[b] = y[rows].sum(axis=0), y[rows].T @ y[rows]
            if f is not None:
                sf[b], sff[b] = f[rows].sum(axis=0), f[rows].T @ f[rows]
        return cls(counts, sy, syy, sf, sff)

    def packed(self) -> np.ndarray:
        """Every sum in one (B, K) array (what a chunk's task returns)."""
        parts = [self.counts[:, None], self.y, self.yy.reshape(self.n_blocks, -1)]
        if self.f is not None:
            parts += [self.f, self.ff.reshape(self.n_blocks, -1)]
        return np.concatenate(parts, axis=1)

    @classmethod
    def unpacked(cls, packed: np.ndarray, n_atoms: int, forces: bool) -> "BlockSums":
        d = 3 * n_atoms
        p = np.asarray(packed, dtype=float)
        B = len(p)
        y, yy = p[:, 1:1 + d], p[:, 1 + d:1 + d + d * d].reshape(B, d, d)
        if not forces:
            return cls(p[:, 0], y, yy)
        o = 1 + d + d * d
        return cls(p[:, 0], y, yy, p[:, o:o + d], p[:, o + d:o + d + d * d].reshape(B, d, d))

    def covariances(self, which: str, drop: int | None = None) -> np.ndarray:
        """The covariance (3N, 3N) of ``which`` ("displacements": A^2, or "forces": (eV/A)^2) over every block but
        ``drop`` (None: every block), with n - 1 degrees of freedom."""
        s1, s2 = (self.y, self.yy) if which == "displacements" else (self.f, self.ff)
        if s1 is None:
            raise ValueError("these sums hold no forces: the force-force estimator needs a run with forces (the "
                             "centroid force, the bead average of the physical forces)")
        keep = np.ones(self.n_blocks, dtype=bool)
        if drop is not None:
            keep[drop] = False
        n = self.counts[keep].sum()
        if n < 2:
            raise ValueError(f"a covariance needs at least 2 frames, these blocks hold {int(n)}")
        mean = s1[keep].sum(axis=0) / n
        return (s2[keep].sum(axis=0) - n * np.outer(mean, mean)) / (n - 1)


def _packed_size(n_atoms: int, forces: bool) -> int:
    d = 3 * n_atoms
    return (1 + d + d * d) * (2 if forces else 1) - (1 if forces else 0)


def _chunk_sums(chunk: dict, acc: "CentroidSums", displacements, start: int) -> np.ndarray:
    u = displacements(chunk)
    f = chunk.get("forces") if acc.forces else None
    sums = BlockSums.of_frames(u, f, acc.blocks, start=int(start), n_frames=acc.run.n_frames)
    return sums.packed()[None]


class CentroidSums(Accumulator):
    """The sums of :class:`BlockSums` over the frames of a centroid trajectory ``run``, taken in one pass (join it to
    the run's next pass, or let :meth:`KuboDisplacementConstants.fit` compute it); the result is a :class:`BlockSums`.

    Parameters
    ----------
    run : Trajectory
        The centroid's frames: positions (and forces, for the force-force estimator).
    reference : Structure, optional
        What the displacements are measured from (default the run's reference).
    blocks : int
        Contiguous blocks of frames (the jackknife's).
    forces : bool, optional
        Sum the forces too (default: when the run has them).
    """

    def __init__(self, run, reference=None, blocks: int = DEFAULT_BLOCKS, forces: bool | None = None):
        super().__init__(run)
        self.reference = run.reference if reference is None else reference
        self.blocks = _check_blocks(blocks, run.n_frames)
        has = run.forces is not None
        if forces and not has:
            raise ValueError(f"{run.source.describe()} has no forces: the force-force estimator needs the centroid "
                             "force of every frame (the bead average of the physical forces)")
        self.forces = has if forces is None else bool(forces)
        d = 3 * run.n_atoms
        require_memory(8.0 * (1 + self.blocks) * d * d * (2 if self.forces else 1),
                       f"the centroid's covariance sums per block ({self.blocks} blocks of {d} x {d})",
                       "use fewer blocks, or a smaller supercell")

    @property
    def layer(self) -> tuple:
        """The fields the pass reads."""
        return ("positions", "forces") if self.forces else ("positions",)

    def start(self, layer: tuple):
        run = self.run
        bounds = np.concatenate([[0], np.cumsum(run.read_layer(tuple(layer))[2])]).astype(int)
        shape = (self.blocks, _packed_size(run.n_atoms, self.forces))
        sums = run.map_chunks(_chunk_sums, self, run.displacements_of_chunks(self.reference), layer=tuple(layer),
                              shape=shape, dtype=np.float64, name="trajmodes-centroid-sums-" + uuid.uuid4().hex,
                              per_chunk=True, chunk_args=[int(b) for b in bounds[:-1]])
        return sums.sum(axis=0)

    def finish(self, value) -> BlockSums:
        return BlockSums.unpacked(np.asarray(value), self.run.n_atoms, self.forces)


def _check_blocks(blocks, n_frames: int) -> int:
    B = int(blocks)
    if B != blocks or B < 2:
        raise ValueError(f"blocks must be a whole number of at least 2 (the jackknife's), not {blocks!r}")
    if n_frames < 2 * B:
        raise ValueError(f"{n_frames} frames are too few for {B} blocks (at least 2 frames a block): give fewer "
                         "blocks or a longer run")
    return B


class _CentroidKubo:
    """What the two estimators share: settings, the pass, the jackknife (module docstring)."""

    #: "displacements" or "forces": the covariance the estimator takes
    covariance = ""

    def __init__(self, temperature: float | None = None, blocks: int = DEFAULT_BLOCKS, symmetrize: bool = True,
                 symprec: float = SYMPREC):
        self.temperature = temperature
        self.blocks = blocks
        self.symmetrize = bool(symmetrize)
        self.symprec = float(symprec)

    # -- the data ---------------------------------------------------------------------------------
    def fit(self, run, reference=None) -> "_CentroidKubo":
        """Estimate from a path-integral run in one pass over its centroid.

        Parameters
        ----------
        run : Trajectory or RingPolymerRun
            The centroid trajectory (positions; forces for the force-force estimator: the bead-averaged physical
            force), or a run with ``.centroid`` (and ``.temperature``, the default of :attr:`temperature`).
        reference : Crystal, optional
            The ideal supercell (atoms in the run's order) whose symmetry the constants get; default the centroid's
            reference with the run's masses. The displacements are measured from the centroid's reference (give the
            run its reference when it is read).

        Returns
        -------
        self
        """
        centroid = getattr(run, "centroid", run)
        if self.temperature is None and getattr(run, "temperature", None) is not None and \
                not callable(getattr(run, "temperature")):
            self.temperature = float(run.temperature)
        ref = centroid.reference if reference is None else reference
        supercell = ref if isinstance(ref, Crystal) else Crystal.from_structure(ref, masses=centroid.masses)
        acc = CentroidSums(centroid, blocks=self.blocks, forces=self.covariance == "forces")
        sums = acc.finish(centroid.next_pass.compute(acc.start(acc.layer), acc.layer))
        return self.fit_sums(sums, supercell)

    def fit_arrays(self, reference, displacements, forces=None) -> "_CentroidKubo":
        """Estimate from centroid frames held in memory: ``displacements`` (frames, N, 3) A from the ideal supercell
        ``reference`` (Crystal), and for the force-force estimator the centroid ``forces`` (frames, N, 3) eV/A."""
        u = np.asarray(displacements, dtype=float)
        if self.covariance == "forces" and forces is None:
            raise ValueError("the force-force estimator needs the centroid forces (frames, N, 3) in eV/A")
        B = _check_blocks(self.blocks, len(u))
        return self.fit_sums(BlockSums.of_frames(u, forces, B), reference)

    def fit_sums(self, sums: BlockSums, reference) -> "_CentroidKubo":
        """Estimate from the sums of a pass (:class:`CentroidSums`) on the ideal supercell ``reference`` (Crystal)."""
        T = float(np.nan if self.temperature is None else self.temperature)
        if not (np.isfinite(T) and T > 0):
            raise ValueError(f"{type(self).__name__} needs the temperature of the run (K, positive): give "
                             f"temperature=, not {self.temperature!r}")
        supercell = reference if isinstance(reference, Crystal) else Crystal.from_structure(reference)
        if 3 * supercell.n_atoms != sums.y.shape[1]:
            raise ValueError(f"the reference has {supercell.n_atoms} atoms, the sums {sums.y.shape[1] // 3}")
        skeleton = ForceConstants(np.zeros((supercell.n_atoms,) * 2 + (3, 3)), supercell, symprec=self.symprec)
        self.supercell_, self.primitive_ = supercell, skeleton.primitive
        self._skeleton = skeleton
        self.sums_ = sums
        self.n_frames_ = int(sums.counts.sum())
        self.temperature_ = T
        full = self._estimate(None)
        samples = np.array([self._estimate(b).full() for b in range(sums.n_blocks)])
        B = len(samples)
        mean = samples.mean(axis=0)
        self.force_constants_ = full
        self.jackknife_samples_ = samples
        self.force_constants_err_ = np.sqrt((B - 1) / B * ((samples - mean) ** 2).sum(axis=0))
        self.bias_ = (B - 1) * (mean - full.full())
        return self

    # -- the estimate -----------------------------------------------------------------------------
    def _as_constants(self, matrix: np.ndarray) -> ForceConstants:
        """A (3N, 3N) matrix as full-layout constants of the supercell, symmetrised (module docstring)."""
        N = self.supercell_.n_atoms
        sk = self._skeleton
        fc = ForceConstants(matrix.reshape(N, 3, N, 3).transpose(0, 2, 1, 3), self.supercell_, sk.primitive,
                            smap=sk.smap, p2s=sk.p2s)
        return fc.symmetrize(self.symprec) if self.symmetrize else fc.symmetrize_asr()

    def _constants(self, covariance: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _estimate(self, drop: int | None) -> ForceConstants:
        C = self._as_constants(self.sums_.covariances(self.covariance, drop)).full()
        N = self.supercell_.n_atoms
        phi = self._constants(C.transpose(0, 2, 1, 3).reshape(3 * N, 3 * N))
        return self._as_constants(phi)

    def jackknife(self, function) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Value, standard error and bias of any function of the constants, by the delete-one-block jackknife
        (module docstring).

        Parameters
        ----------
        function : callable
            ``function(ForceConstants) -> array_like`` (e.g. frequencies at some q-points).

        Returns
        -------
        (value, error, bias) : ndarrays of the function's shape
            The value with every frame; its jackknife standard error and bias estimate (subtract the bias for the
            first-order bias-corrected value).
        """
        value = np.asarray(function(self.force_constants_), dtype=float)
        sk = self._skeleton
        rs = np.array([np.asarray(function(ForceConstants(s, self.supercell_, sk.primitive, smap=sk.smap, p2s=sk.p2s)),
                                  dtype=float) for s in self.jackknife_samples_])
        B = len(rs)
        mean = rs.mean(axis=0)
        return value, np.sqrt((B - 1) / B * ((rs - mean) ** 2).sum(axis=0)), (B - 1) * (mean - value)


class KuboDisplacementConstants(_CentroidKubo):
    """Effective force constants from the centroid's displacement covariance, Phi = k_B T [<du_c du_c^T>]^+ (module
    docstring; Morresi, Paulatto, Vuilleumier and Casula, J. Chem. Phys. 154, 224108 (2021)).

    Estimator style: settings here, :meth:`fit` (a run), :meth:`fit_arrays` (frames in memory) or :meth:`fit_sums` (the
    sums of a pass) return the estimator, results end in ``_``.

    Parameters
    ----------
    temperature : float, optional
        K, the run's (thermostat) temperature; default a ring-polymer run's ``temperature``.
    blocks : int
        Contiguous blocks of frames of the jackknife error bars (each longer than the centroid's correlation time).
    symmetrize : bool
        Symmetrise the covariance and the constants under the supercell's space group (default); False: only
        permutation symmetry and the sum rule.
    symprec : float
        spglib tolerance, A.

    Attributes
    ----------
    force_constants_ : ForceConstants
        Full layout (N, N, 3, 3), eV/A^2, symmetrised, the acoustic sum rule exact.
    force_constants_err_ : ndarray (N, N, 3, 3)
        Jackknife standard errors, eV/A^2.
    bias_ : ndarray (N, N, 3, 3)
        Jackknife estimate of the bias (the bias-corrected constants are ``force_constants_.full() - bias_``).
    jackknife_samples_ : ndarray (B, N, N, 3, 3)
        The delete-one-block estimates (:meth:`jackknife` propagates them).
    sums_ : BlockSums
    n_frames_ : int
    temperature_ : float
    supercell_, primitive_ : Crystal
    """

    covariance = "displacements"

    def _constants(self, covariance: np.ndarray) -> np.ndarray:
        lam, vec = np.linalg.eigh(0.5 * (covariance + covariance.T))
        keep = np.ones(len(lam), dtype=bool)
        keep[np.argsort(np.abs(lam), kind="stable")[:3]] = False                 # the three uniform translations
        if not (lam[keep] > 0).all():
            raise ValueError("the centroid's displacement covariance is singular beyond the three translations: too "
                             "few frames for the supercell (need well over 3N of them), or atoms that do not move")
        return KB_EV * self.temperature_ * (vec[:, keep] / lam[keep]) @ vec[:, keep].T


class KuboForceConstants(_CentroidKubo):
    """Effective force constants from the centroid's force covariance, Phi = <dF_c dF_c^T> / k_B T, F_c the bead
    average of the physical forces (module docstring; Morresi, Paulatto, Vuilleumier and Casula, J. Chem. Phys. 154,
    224108 (2021)). Linear in the sums: no inverse, no bias beyond that of a sample covariance.

    Parameters and attributes as :class:`KuboDisplacementConstants`; the run must have the centroid forces.
    """

    covariance = "forces"

    def _constants(self, covariance: np.ndarray) -> np.ndarray:
        return covariance / (KB_EV * self.temperature_)
