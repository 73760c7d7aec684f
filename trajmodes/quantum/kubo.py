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
  does, so the covariance <dy dy^T> (Å²) is k_B T Phi^+ exactly, its null space is the three uniform translations,
  and Phi follows by the pseudo-inverse on the other 3N - 3 directions (eV/Å², the acoustic sum rule exact).
- force-force (:class:`KuboForceConstants`):

      Phi = <dF_c dF_c^T> / k_B T,

  F_c the centroid force, the bead average of the physical forces (eV/Å), its net force over the atoms taken out of
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

for any function of the constants (:meth:`KuboDisplacementConstants.jackknife`). It has B - 1 degrees of freedom: the
z-score (theta - true) / error follows Student's t with B - 1 (std 1.07 at the default 16 blocks; a 95 % interval is
+- 2.13 errors, not 1.96).

Blocks shorter than the centroid's correlation time make the jackknife's errors too small (the blocks are not
independent): on real i-PI runs of a harmonic fcc crystal (PILE_L, centroid tau 100 fs; 301 frames 4 fs apart, blocks
of 76 fs) the z-scores at the special points had std 1.9 (1.4 at 1201 frames). So the error is widened by a blocking
analysis of the same sums (:class:`BlockingAnalysis`): the pass keeps finer base blocks (:data:`BASE_REFINEMENT` per
jackknife block, fewer where memory or frames do not allow: :func:`base_block_count`), which are regrouped into every
coarser division B' of them; along the eigenvectors of the symmetrised covariance (the centroid's modes) the statistical
inefficiency g_B' of the mode variances is measured at each B' (one for independent frames), a model of their
autocorrelation (a white part and a damped oscillation squared, exp(-t / tau) (1 + cos 2 omega_k t) / 2 with omega_k
each mode's frequency, known from the constants and the frame interval) is fitted to the curve, and the error over the
B blocks is multiplied by sqrt(g / E[g_B]), g the plateau the curve tends to (the frames per independent sample of the
run). Rule: the bars are calibrated where the run holds at least :data:`MIN_INDEPENDENT` independent samples (n / g);
below that the curve's plateau is not seen, the bars are widened by what was seen and marked as lower bounds
(:attr:`KuboDisplacementConstants.lower_bound_`). Measured on the runs above (8 seeds, 16 blocks): z std 1.02 (<u u>)
and 1.12 (<F F>) at 301 frames (g ~ 25 frames = 100 fs: the thermostat's time; ~12 independent samples; errors x1.8),
1.25 and 1.19 at 1201 frames (errors x1.2); independent exact samples get g ~ 1 and a factor under 1.2 (the curve's
noise read as a little correlation). Without the frame interval (:meth:`~KuboDisplacementConstants.fit_arrays`
without ``frame_interval``) the model is one exponential, which reads the short-block rise of the oscillation as all of
the correlation: g ~ 35 % small on runs of ~12 correlation times. ``blocking=False`` gives the plain jackknife.

One pass. The sums are taken in one pass over the centroid trajectory (:class:`CentroidSums`, an accumulator of
:class:`~trajmodes.trajectory.passes.Pass`), per block of frames: the number of frames, sum y, sum y y^T, and with
forces sum F, sum F F^T; 2 B_0 (3N)^2 doubles for B_0 base blocks (default 8 per jackknife block: 128), never the
frames.
"""
from __future__ import annotations

import math
import uuid
import warnings

import numpy as np

from trajmodes.forceconstants import ForceConstants
from trajmodes.lattice import Crystal
from trajmodes.lattice.spglib_calls import SYMPREC
from trajmodes.resources import available_memory, require_memory
from trajmodes.trajectory import Accumulator, ChunkSum, Terms
from trajmodes.trajectory import frame_sum
from trajmodes.units import AMU_KG, EV_J, KB_EV

__all__ = ["BlockSums", "BlockingAnalysis", "CentroidSums", "KuboDisplacementConstants", "KuboForceConstants",
           "DEFAULT_BLOCKS", "BASE_REFINEMENT", "MIN_INDEPENDENT", "base_block_count"]

#: contiguous blocks of frames of the jackknife error bars
DEFAULT_BLOCKS = 16
#: base blocks the one-pass sums keep per jackknife block (fewer where the memory or the frames do not allow), for the
#: blocking analysis of the correlation time (module docstring)
BASE_REFINEMENT = 8
#: a run shorter than this many independent samples of the centroid's mode variances (n_frames / g, g the statistical
#: inefficiency of the blocking analysis) gets error bars marked as lower bounds (module docstring)
MIN_INDEPENDENT = 8
#: at most this many of the centroid's modes enter the blocking analysis (evenly over the spectrum)
BLOCKING_MODES = 128
#: rad/ps of an angular frequency sqrt(eV / (A^2 amu))
_RAD_PS = float(np.sqrt(EV_J / AMU_KG)) * 1e10 * 1e-12


class BlockSums:
    """The centroid's sums per block of frames (module docstring).

    Attributes
    ----------
    counts : ndarray (B,)
        Frames per block.
    y, yy : ndarray (B, 3N), (B, 3N, 3N)
        Sums of the displacements with their uniform translation taken out (Å) and of their outer products (Å²).
    f, ff : ndarray (B, 3N), (B, 3N, 3N), or None
        Sums of the forces with their net force taken out (eV/Å) and of their outer products; None without forces.
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
        """The sums of frames held in memory: ``displacements`` (frames, N, 3) Å, ``forces`` (frames, N, 3) eV/Å,
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

    def regrouped(self, blocks: int) -> "BlockSums":
        """The sums over ``blocks`` coarser blocks, each the union of n_blocks / blocks consecutive blocks of these
        (the same frames as cutting the run into ``blocks`` directly: ``floor(floor(i B0 / n) / k) = floor(i B / n)``
        for frame i of n)."""
        B = int(blocks)
        if B == self.n_blocks:
            return self
        if B < 1 or self.n_blocks % B:
            raise ValueError(f"{self.n_blocks} blocks cannot be regrouped into {blocks!r} (need a divisor)")
        k = self.n_blocks // B

        def merge(a):
            return None if a is None else a.reshape((B, k) + a.shape[1:]).sum(axis=1)
        return BlockSums(merge(self.counts), merge(self.y), merge(self.yy), merge(self.f), merge(self.ff))

    def blocking(self, which: str, basis: np.ndarray, oscillation=None) -> "BlockingAnalysis":
        """The blocking analysis of the mode variances of ``which`` ("displacements" or "forces") along the columns of
        ``basis`` (3N, K): for every regrouping of these blocks into B >= 2 coarser ones (B a divisor of n_blocks),
        the statistical inefficiency g_B (frames) of the mode variances, averaged over the K modes
        (:class:`BlockingAnalysis`).

        With M_kb the mean of (x_k - <x_k>)^2 over block b (x_k = e_k . y), the variance of the run's mean by blocks is
        v_k = B / (B - 1) sum_b (n_b / n)^2 (M_kb - <M_k>)^2, and g_B = mean_k n v_k / (2 lambda_k^2): one for
        independent Gaussian frames at every B (the variance of a sample variance is 2 lambda^2 / n), the number of
        frames per independent sample for correlated ones once the blocks are long enough. ``oscillation`` (K,): the
        angle (rad per frame) of each mode's 2 omega_k, for the model of :class:`BlockingAnalysis` (None: 0).
        """
        s1, s2 = (self.y, self.yy) if which == "displacements" else (self.f, self.ff)
        if s1 is None:
            raise ValueError("these sums hold no forces")
        E = np.asarray(basis, float)
        n = float(self.counts.sum())
        mean = s1.sum(axis=0) / n
        a1 = s1 @ E                                                           # (B0, K): sums of x_k per block
        a2 = np.stack([np.einsum("ik,ik->k", q @ E, E) for q in s2])          # (B0, K): sums of x_k^2 per block
        mk = mean @ E
        lam = (a2.sum(axis=0) - n * mk ** 2) / (n - 1)
        levels, g = [], []
        B0 = self.n_blocks
        for B in sorted((b for b in range(2, B0 + 1) if B0 % b == 0), reverse=True):
            k = B0 // B
            c = self.counts.reshape(B, k).sum(axis=1)[:, None]
            if (c < 1).any():
                continue
            s, q = a1.reshape(B, k, -1).sum(axis=1), a2.reshape(B, k, -1).sum(axis=1)
            M = q / c - 2 * mk * s / c + mk ** 2
            dev = M - (c * M).sum(axis=0) / n
            v = B / (B - 1) * ((c / n) ** 2 * dev ** 2).sum(axis=0)
            levels.append(B)
            g.append(float(np.mean(n * v / (2 * lam ** 2))))
        return BlockingAnalysis(int(n), np.array(levels, int), np.array(g), oscillation)

    def covariances(self, which: str, drop: int | None = None) -> np.ndarray:
        """The covariance (3N, 3N) of ``which`` ("displacements": Å², or "forces": (eV/Å)²) over every block but
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


class BlockingAnalysis:
    """The blocking analysis of a run's mode variances (:meth:`BlockSums.blocking`; module docstring): the statistical
    inefficiency g_B (frames per independent sample) seen by the jackknife at each number of blocks B, the model of its
    autocorrelation fitted to them, and what it says of the run.

    The model: the autocovariance of the normalised variance of mode k, R_k(t) = w delta_t0 + a r^|t| (1 + cos theta_k
    t) / 2, averaged over the modes: a white part (a = 0 for independent frames) and the square of a damped
    oscillation, x_k(t) x_k(0) ~ cos(omega_k t) r^(t/2), as for any underdamped mode with Gaussian statistics (Isserlis:
    <x^2(t) x^2(0)> - <x^2>^2 = 2 <x(t) x(0)>^2): r = exp(-1 / tau), tau the correlation time of the mode's energy in
    frames (the thermostat's or the anharmonic lifetime's), theta_k = 2 omega_k times the frame interval (0 where not
    known: one exponential). For blocks of L = n / B frames it gives exactly E[g_B] = n / (B - 1) [V(L) / L^2 - V(n) /
    n^2], V(L) = sum_{s,t<L} R(s - t), and the inefficiency of the run's mean g = V(n) / n; w, a by non-negative least
    squares, each g_B weighted by its relative error sqrt(2 / (B - 1)) (H. Flyvbjerg and H. G. Petersen, J. Chem.
    Phys. 91, 461 (1989)), tau on a grid. The oscillation matters: with one exponential, runs of ~12 correlation times
    got g 35 % too small (the oscillation's rise at short blocks read as the whole correlation).

    Attributes
    ----------
    n_frames : int
        Frames of the series analysed.
    levels : ndarray of int
        B, the numbers of blocks, descending.
    inefficiency : ndarray
        g_B, frames, at each level.
    correlation_frames : float
        tau, frames (nan where no fit).
    statistical_inefficiency : float
        g, frames per independent sample of the run's mean (the plateau of g_B).
    fitted : bool
        Whether the model was fitted (three levels or more).
    oscillation : ndarray
        theta_k, rad per frame.
    """

    def __init__(self, n_frames: int, levels, inefficiency, oscillation=None):
        self.oscillation = np.zeros(1) if oscillation is None else np.atleast_1d(np.asarray(oscillation, float))
        #: the independent samples below which the error bars are lower bounds (:data:`MIN_INDEPENDENT`)
        self.min_independent = MIN_INDEPENDENT
        self.n_frames = int(n_frames)
        self.levels = np.asarray(levels, int)
        self.inefficiency = np.asarray(inefficiency, float)
        self.fitted = len(self.levels) >= 3 and bool(np.isfinite(self.inefficiency).all())
        self._w, self._a, self._r = 1.0, 0.0, 0.0
        self.correlation_frames = float("nan")
        if self.fitted:
            self._fit()
        self.statistical_inefficiency = self._g(self.n_frames) if self.fitted else \
            float(self.inefficiency.max()) if len(self.inefficiency) else float("nan")

    def _pairs(self, L, r: float):
        """V(L) of R(t) = r^|t| (1 + cos theta_k t) / 2 averaged over the modes: sum_{s,t<L} of it, by the real part of
        the geometric sums of z = r and z = r e^(i theta_k)."""
        L = np.asarray(L, float)
        if r <= 0:
            return L
        z = np.concatenate([[r + 0j], r * np.exp(1j * self.oscillation)])
        Lz = L[..., None]
        v = (Lz * (1 + z) / (1 - z) - 2 * z * (1 - z ** Lz) / (1 - z) ** 2).real
        return 0.5 * (v[..., 0] + v[..., 1:].mean(axis=-1))

    def _shape(self, levels, r: float) -> np.ndarray:
        """E[g_B] of R(t) = r^|t| at the numbers of blocks ``levels``."""
        n, B = float(self.n_frames), np.asarray(levels, float)
        L = n / B
        return n / (B - 1) * (self._pairs(L, r) / L ** 2 - self._pairs(n, r) / n ** 2)

    def _fit(self):
        from scipy.optimize import nnls
        g, B = self.inefficiency, self.levels
        best = None
        for tau in np.geomspace(0.05, 4.0 * self.n_frames, 240):
            r = float(np.exp(-1.0 / tau))
            X = np.column_stack([np.ones(len(B)), self._shape(B, r)])
            scale = g
            for _ in range(2):                                  # weights of the observed, then of the model's g_B
                sw = np.sqrt((B - 1) / 2.0) / np.maximum(scale, 1e-12)
                coef, res = nnls(X * sw[:, None], g * sw)
                scale = np.maximum(X @ coef, 1e-12)
            if best is None or res < best[0]:
                best = (res, coef, r, tau)
        _, (self._w, self._a), self._r, tau = best
        self.correlation_frames = float(tau) if self._a > 0 else 0.0

    def _g(self, n) -> float:
        return float(self._w + self._a * self._pairs(n, self._r) / n)

    def expected(self, blocks: int) -> float:
        """E[g_B] of the fitted model for ``blocks`` blocks (frames).

        Parameters
        ----------
        blocks : int
            B, the number of equal blocks the run is divided into.
        """
        if not self.fitted:
            return float("nan")
        return float(self._w + self._a * self._shape([blocks], self._r)[0])

    def inflation(self, blocks: int) -> float:
        """sqrt(g / E[g_B]): the factor that turns the jackknife standard error over ``blocks`` blocks (too small where
        the blocks are not much longer than the correlation time) into the standard error of the run (1 without a fit:
        the error bars are then lower bounds).

        Parameters
        ----------
        blocks : int
            The number of jackknife blocks the standard error was taken over.
        """
        if not self.fitted:
            return 1.0
        return float(np.sqrt(max(self.statistical_inefficiency / self.expected(blocks), 1.0)))

    @property
    def independent_samples(self) -> float:
        """n_frames / g: independent samples of the mode variances in the run."""
        return self.n_frames / self.statistical_inefficiency

    @property
    def lower_bound(self) -> bool:
        """True where the error bars are lower bounds: no fit (too few blocks), or fewer than :data:`MIN_INDEPENDENT`
        independent samples (the run is too short for the plateau of g_B to be seen, and the fit extrapolates)."""
        return not self.fitted or not self.independent_samples >= MIN_INDEPENDENT


def _packed_size(n_atoms: int, forces: bool) -> int:
    d = 3 * n_atoms
    return (1 + d + d * d) * (2 if forces else 1) - (1 if forces else 0)


def _chunk_sums(chunk: dict, acc: "CentroidSums", displacements, start: int) -> np.ndarray:
    u = displacements(chunk)
    f = chunk.get("forces") if acc.forces else None
    sums = BlockSums.of_frames(u, f, acc.base_blocks, start=int(start), n_frames=acc.run.n_frames)
    return sums.packed()[None]


class CentroidSums(Accumulator):
    """The sums of :class:`BlockSums` over the frames of a centroid trajectory ``run``, taken in one pass (add it to a
    pass of the run, :class:`~trajmodes.trajectory.passes.Pass`, or let :meth:`KuboDisplacementConstants.fit` compute it); the result is a :class:`BlockSums`
    over :attr:`base_blocks` blocks, which the estimators regroup into their ``blocks`` for the jackknife and into
    every coarser division for the blocking analysis (module docstring).

    Parameters
    ----------
    run : Trajectory
        The centroid's frames: positions (and forces, for the force-force estimator).
    reference : Structure, optional
        What the displacements are measured from (default the run's reference).
    blocks : int
        Contiguous blocks of frames of the jackknife.
    forces : bool, optional
        Sum the forces too (default: when the run has them).
    base_blocks : int, optional
        The blocks the sums keep, a multiple of ``blocks``; default ``blocks`` times :data:`BASE_REFINEMENT` (or 2, or
        1 where the memory or the run's frames, at least 2 a block, do not allow).
    """

    def __init__(self, run, reference=None, blocks: int = DEFAULT_BLOCKS, forces: bool | None = None,
                 base_blocks: int | None = None):
        super().__init__(run)
        self.reference = run.reference if reference is None else reference
        self.blocks = _check_blocks(blocks, run.n_frames)
        has = run.forces is not None
        if forces and not has:
            raise ValueError(f"{run.source.describe()} has no forces: the force-force estimator needs the centroid "
                             "force of every frame (the bead average of the physical forces)")
        self.forces = has if forces is None else bool(forces)
        self.base_blocks = base_block_count(self.blocks, run.n_frames, run.n_atoms, self.forces, base_blocks)

    @property
    def layer(self) -> tuple:
        """The fields the pass reads."""
        return ("positions", "forces") if self.forces else ("positions",)

    def start(self, layer: tuple):
        """The lazy sums over the run's frames (a Dask array of :attr:`base_blocks` packed blocks).

        Parameters
        ----------
        layer : tuple of str
            The fields the pass reads (:attr:`layer`).
        """
        run = self.run
        bounds = np.concatenate([[0], np.cumsum(run.read_layer(tuple(layer))[2])]).astype(int)
        shape = (self.base_blocks, _packed_size(run.n_atoms, self.forces))
        sums = run.map_chunks(_chunk_sums, self, run.displacements_of_chunks(self.reference, drift="removed"),
                              layer=tuple(layer), shape=shape, dtype=np.float64,
                              name="trajmodes-centroid-sums-" + uuid.uuid4().hex, per_chunk=True,
                              chunk_args=[int(b) for b in bounds[:-1]])
        return sums.sum(axis=0)

    def finish(self, value) -> BlockSums:
        """The :class:`BlockSums` of the run.

        Parameters
        ----------
        value : ndarray
            The computed value of :meth:`start`.
        """
        return BlockSums.unpacked(np.asarray(value), self.run.n_atoms, self.forces)


def _check_blocks(blocks, n_frames: int) -> int:
    B = int(blocks)
    if B != blocks or B < 2:
        raise ValueError(f"blocks must be a whole number of at least 2 (the jackknife's), not {blocks!r}")
    if n_frames < 2 * B:
        raise ValueError(f"{n_frames} frames are too few for {B} blocks (at least 2 frames a block): give fewer "
                         "blocks or a longer run")
    return B


def _sums_bytes(blocks: int, n_atoms: int, forces: bool) -> float:
    d = 3 * n_atoms
    return 8.0 * (1 + blocks) * d * d * (2 if forces else 1)


def base_block_count(blocks: int, n_frames: int, n_atoms: int, forces: bool, base_blocks: int | None = None) -> int:
    """The blocks of the one-pass sums for a jackknife over ``blocks``: ``base_blocks`` where given (a multiple of
    ``blocks``), else ``blocks`` times the largest of :data:`BASE_REFINEMENT`, ..., 2, 1 whose sums (2 B (3N)^2
    doubles with forces) take at most a quarter of the memory available and whose blocks hold 2 frames or more;
    MemoryError where even ``blocks`` do not fit."""
    B = int(blocks)
    if base_blocks is not None:
        B0 = int(base_blocks)
        if B0 != base_blocks or B0 < B or B0 % B:
            raise ValueError(f"base_blocks must be a multiple of blocks ({B}), not {base_blocks!r}")
    else:
        have = available_memory()
        B0 = B
        for k in range(int(BASE_REFINEMENT), 1, -1):
            if n_frames >= 2 * B * k and (have is None or _sums_bytes(B * k, n_atoms, forces) <= 0.25 * have):
                B0 = B * k
                break
    d = 3 * n_atoms
    require_memory(_sums_bytes(B0, n_atoms, forces), f"the centroid's covariance sums per block ({B0} blocks of "
                   f"{d} x {d})", "use fewer blocks, or a smaller supercell")
    return B0


def _frame_interval(run) -> float | None:
    """ps between the frames of ``run``, None where unknown."""
    try:
        dt = float(run.frame_interval)
    except (AttributeError, TypeError, ValueError):
        return None
    return dt if np.isfinite(dt) and dt > 0 else None


#: an atom whose centroid variance is under this share of the median atom's never moves
FROZEN_SHARE = 1e-8
#: the displacement estimator's inverse biases the constants by about (p + 1) / (n - p - 2) for n independent frames
#: and p directions per q-point; above this a warning says so
BIAS_WARNING = 0.05


#: eigenvalues of a covariance within this share of its largest are one degenerate set (:func:`_canonical_modes`)
DEGENERATE_RTOL = 1e-9


def _canonical_modes(lam: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """The eigenvectors ``vec`` (3N, 3N) of ascending eigenvalues ``lam``, each degenerate set (a crystal's symmetry
    makes them exact) turned into a basis that depends on the set's subspace alone: the first columns of its projector
    (by index) that are independent of those before, orthonormalised. ``numpy.linalg.eigh`` returns any orthonormal
    basis of such a set, one that round-off in the sums turns, and the blocking analysis' statistics of the mode
    variances (and its choice of modes) are not invariant under that turn."""
    out = vec.copy()
    tol = DEGENERATE_RTOL * max(float(np.abs(lam).max()), 1e-300)
    start = 0
    while start < len(lam):
        end = start + 1
        while end < len(lam) and lam[end] - lam[start] <= tol:
            end += 1
        if end - start > 1:
            V = vec[:, start:end]
            proj = V @ V.T
            basis = []
            for j in range(proj.shape[1]):
                col = proj[:, j].copy()
                for b in basis:
                    col -= (b @ col) * b
                norm = float(np.linalg.norm(col))
                if norm > 1e-6:
                    basis.append(col / norm)
                if len(basis) == end - start:
                    break
            if len(basis) == end - start:
                out[:, start:end] = np.array(basis).T
        start = end
    return out


class _AtomMotion(ChunkSum):
    """Per atom, the sums over the frames of the displacements from ``reference`` and of their squares, (2, N, 3) Å
    and Å²: which atoms never move."""

    def __init__(self, run, reference):
        super().__init__(run)
        self.reference = reference
        self.shape = (2, run.n_atoms, 3)

    def arguments(self) -> tuple:
        return (self.run.displacements_of_chunks(self.reference),)

    def add(self, chunk: dict, displacements) -> np.ndarray:
        u = displacements(chunk)
        return np.stack([u.sum(axis=0), (u ** 2).sum(axis=0)])


def _check_moving(variance, where: str) -> None:
    """Refuse atoms whose centroid never moves: ``variance`` (N,) Å² of each atom's displacements over the frames."""
    v = np.asarray(variance, float)
    scale = float(np.median(v)) if len(v) else 0.0
    still = np.flatnonzero(~(v > FROZEN_SHARE * scale)) if scale > 0 else np.arange(len(v))
    if len(still):
        names = ", ".join(str(int(i)) for i in still[:8]) + (" ..." if len(still) > 8 else "")
        raise ValueError(f"{where}: the centroid of atom {names} (0-based; {len(still)} of {len(v)} atoms) never "
                         f"moves over the frames (variance {v[still[0]]:.1e} A^2 against the median atom's {scale:.1e})"
                         ": a fixed or frozen atom has no Kubo correlation, and the estimators would treat the "
                         "crystal as if every atom were free. Leave fixed atoms out of the run (or out of the arrays), "
                         "or fit over the beads (EffectiveForceConstants on run.pooled)")


def _run_temperature(run, given, name: str):
    """The run's temperature (K) where ``run`` states one; refuses a ``given`` one that contradicts it, as
    :func:`~trajmodes.trajectory.read_beads` does."""
    t = getattr(run, "temperature", None)
    if t is None or callable(t):
        return None
    t = float(t)
    if given is not None and not math.isclose(float(given), t, rel_tol=1e-6):
        said = getattr(run, "temperature_from", None)
        files = getattr(run, "files", None)
        where = ("was given to read_beads" if said == "given" else
                 f"is what {said} states" if said else "is the run's")
        what = "" if files is None else f" ({files.describe()})"
        raise ValueError(f"{name}(temperature={float(given):g}) was given, but {t:g} K {where}{what}: leave "
                         "temperature= out, or give the run's")
    return t


class _CentroidKubo:
    """What the two estimators share: settings, the pass, the jackknife (module docstring)."""

    #: "displacements" or "forces": the covariance the estimator takes
    covariance = ""

    def __init__(self, temperature: float | None = None, blocks: int = DEFAULT_BLOCKS, symmetrize: bool = True,
                 symprec: float = SYMPREC, blocking: bool = True):
        self.temperature = temperature
        self.blocks = blocks
        self.blocking = bool(blocking)
        self.symmetrize = bool(symmetrize)
        self.symprec = float(symprec)

    # -- the data ---------------------------------------------------------------------------------
    def fit(self, run, reference=None) -> "_CentroidKubo":
        """Estimate from a path-integral run in one pass over its centroid.

        Parameters
        ----------
        run : Trajectory or RingPolymerRun
            The centroid trajectory (positions; forces for the force-force estimator: the bead-averaged physical
            force), or a run with ``.centroid`` (and ``.temperature``, the default of :attr:`temperature`; a
            :attr:`temperature` that contradicts it is refused).
        reference : Crystal, optional
            The ideal supercell (atoms in the run's order) whose symmetry the constants get. Default: the crystal's
            sites as the fit over the beads takes them (:func:`~trajmodes.lattice.ideal.ideal_crystal`): the run's
            time-averaged centroid sites, summed in the same pass and rebuilt on the ideal sites of its space group,
            or the reference the run was read with (rebuilt on its ideal sites, with a warning, where it is not an
            ideal crystal); refused where they show no lattice. The displacements are measured from the centroid's
            reference (a constant per atom, which no covariance sees).

        Returns
        -------
        self
        """
        centroid = getattr(run, "centroid", run)
        self._run_temperature = _run_temperature(run, self.temperature, type(self).__name__)
        if self.temperature is None and self._run_temperature is None and hasattr(run, "require_temperature"):
            run.require_temperature(f"{type(self).__name__}")     # says why (no input, a GPUMD ramp) and what to give
        acc = CentroidSums(centroid, blocks=self.blocks, forces=self.covariance == "forces")
        reading = centroid.read_pass()           # the estimator's read of the centroid: its own pass
        motion = reading.add(_AtomMotion(centroid, acc.reference))
        average = averaged_sums = None
        if reference is None and not centroid.reference_given and not centroid.reference_is_average:
            # the run's time average (the fit's, Trajectory.average_structure) summed in the same pass (a run read
            # with reference="average" has it already: the pass's reference)
            first = centroid.frame_structure(0)
            average = first
            averaged_sums = reading.add(Terms(centroid, lambda r, layer: {
                k: frame_sum(v) for k, v in r.average_terms(first, layer).items()}))
        sums = acc.finish(reading.compute(acc.start(acc.layer), acc.layer))
        motion = motion.value
        n = float(centroid.n_frames)
        _check_moving(motion[1].sum(axis=1) / n - (motion[0] ** 2).sum(axis=1) / n ** 2,
                      centroid.source.describe())
        if reference is not None:
            supercell = reference if isinstance(reference, Crystal) else \
                Crystal.from_structure(reference, masses=centroid.masses)
        else:
            if average is not None:
                ref, averaged = centroid.average_from_sums(average, averaged_sums.value), True
            else:
                ref, averaged = centroid.reference, bool(centroid.reference_is_average)
            supercell = self._sites(ref, centroid, averaged)
        try:
            return self.fit_sums(sums, supercell, frame_interval=_frame_interval(centroid))
        finally:
            self._run_temperature = None

    def _sites(self, ref, centroid, averaged: bool) -> Crystal:
        """The ideal supercell of the structure ``ref`` of ``centroid`` (its time average where ``averaged``), as the
        fit over the beads takes it (:func:`~trajmodes.lattice.ideal.ideal_crystal`); refused where it shows no
        lattice."""
        from trajmodes.lattice.ideal import ideal_crystal
        masses = ref.masses if ref.masses is not None else centroid.masses
        try:
            return ideal_crystal(Crystal.from_structure(ref, masses=masses), self.symprec, stacklevel=3,
                                 averaged=averaged)[0]
        except ValueError as exc:
            what = "the centroid's time-averaged sites" if averaged else "the reference the run was read with"
            raise ValueError(f"{centroid.source.describe()}: {what} show no crystal lattice, so the "
                             f"{type(self).__name__} would invert the raw covariance of {centroid.n_frames} frames "
                             f"without any symmetry ({exc}). Give reference= the ideal supercell (atoms in the run's order: the data file "
                             "the run started from)") from None

    def fit_arrays(self, reference, displacements, forces=None, frame_interval: float | None = None) -> "_CentroidKubo":
        """Estimate from centroid frames held in memory: ``displacements`` (frames, N, 3) Å from the ideal supercell
        ``reference`` (Crystal), and for the force-force estimator the centroid ``forces`` (frames, N, 3) eV/Å;
        ``frame_interval`` (ps between frames) for the blocking analysis (:meth:`fit_sums`)."""
        u = np.asarray(displacements, dtype=float)
        if self.covariance == "forces" and forces is None:
            raise ValueError("the force-force estimator needs the centroid forces (frames, N, 3) in eV/A")
        B = _check_blocks(self.blocks, len(u))
        if u.ndim == 3:
            _check_moving(u.var(axis=0).sum(axis=1), "the displacements given")
        B0 = base_block_count(B, len(u), u.shape[1], forces is not None)
        return self.fit_sums(BlockSums.of_frames(u, forces, B0), reference, frame_interval=frame_interval)

    def fit_sums(self, sums: BlockSums, reference, frame_interval: float | None = None) -> "_CentroidKubo":
        """Estimate from the sums of a pass (:class:`CentroidSums`) on the ideal supercell ``reference`` (Crystal): the
        jackknife over :attr:`blocks` blocks (a divisor of the sums' blocks), its error bars widened by the blocking
        analysis of the sums' blocks (module docstring); ``frame_interval``, ps between frames, gives that analysis
        the modes' oscillation (without it, its model is one exponential, which reads short runs' correlation as too
        short)."""
        given = self.temperature if self.temperature is not None else getattr(self, "_run_temperature", None)
        T = float(np.nan if given is None else given)
        if not (np.isfinite(T) and T > 0):
            raise ValueError(f"{type(self).__name__} needs the temperature of the run (K, positive): give "
                             f"temperature=, not {self.temperature!r}")
        supercell = reference if isinstance(reference, Crystal) else Crystal.from_structure(reference)
        if 3 * supercell.n_atoms != sums.y.shape[1]:
            raise ValueError(f"the reference has {supercell.n_atoms} atoms, the sums {sums.y.shape[1] // 3}")
        skeleton = ForceConstants(np.zeros((supercell.n_atoms,) * 2 + (3, 3)), supercell, symprec=self.symprec)
        self.supercell_, self.primitive_ = supercell, skeleton.primitive
        self._skeleton = skeleton
        B = int(self.blocks)
        if B != self.blocks or B < 2 or sums.n_blocks % B:
            raise ValueError(f"blocks={self.blocks!r} must divide the {sums.n_blocks} blocks of the sums (and be 2 or "
                             "more): give the pass the same blocks (CentroidSums(run, blocks=...))")
        self.sums_ = sums
        self.n_frames_ = int(sums.counts.sum())
        p = self.directions_
        if self.covariance == "displacements" and self.n_frames_ <= p + 2:
            raise ValueError(f"{type(self).__name__}: {self.n_frames_} frames are too few for the {p} directions per "
                             f"q-point{self._symmetry_said()}: the inverse of their covariance is singular or "
                             f"unbounded (at least {p + 3} frames; {20 * p} for a bias under 5 %). Give a longer run, "
                             "or the ideal reference so that the covariance is symmetrised")
        self.temperature_ = T
        self._working = sums.regrouped(B)
        full, covariance = self._estimate(None, with_covariance=True)
        samples = np.array([self._estimate(b).full() for b in range(B)])
        mean = samples.mean(axis=0)
        dt = np.nan if frame_interval is None else float(frame_interval)
        self.frame_interval_ = dt if np.isfinite(dt) and dt > 0 else None
        self.blocking_ = self._blocking(covariance)
        self._warn_few_frames()
        self.error_inflation_ = self.blocking_.inflation(B) if self.blocking else 1.0
        self.lower_bound_ = bool(self.blocking_.lower_bound) if self.blocking else True
        self.dof_ = B - 1
        self.force_constants_ = full
        self.jackknife_samples_ = samples
        self.force_constants_err_ = self.error_inflation_ * np.sqrt((B - 1) / B * ((samples - mean) ** 2).sum(axis=0))
        self.bias_ = (B - 1) * (mean - full.full())
        return self

    @property
    def directions_(self) -> int:
        """p: the directions per q-point the covariance is estimated in (3 per atom of the primitive cell its
        symmetrisation finds; 3N - 3 without symmetry)."""
        N = self.supercell_.n_atoms
        n = self._skeleton.primitive.n_atoms if self.symmetrize else N
        return 3 * N - 3 if n == N else 3 * n

    def _symmetry_said(self) -> str:
        N = self.supercell_.n_atoms
        if not self.symmetrize:
            return " (symmetrize=False: the raw 3N x 3N covariance)"
        if self._skeleton.primitive.n_atoms == N:
            return (f" (the supercell of {N} atoms shows no lattice translations, so nothing is symmetrised: give the "
                    "ideal reference)")
        return ""

    def _warn_few_frames(self) -> None:
        """Warn where the frames per degree of freedom are too few: the displacement estimator's inverse biases the
        constants by about (p + 1) / (n - p - 2) for n independent frames, more for correlated ones (the mean of an
        inverse Wishart matrix: T. W. Anderson, An Introduction to Multivariate Statistical Analysis, Wiley, 2003);
        the force estimator's covariance has rank below p where n < p."""
        p, n = self.directions_, float(self.n_frames_)
        said = (f"{type(self).__name__}: {int(n)} frames for p = {p} directions per q-point{self._symmetry_said()}: "
                f"{n / p:.1f} frames per degree of freedom")
        if self.covariance == "displacements":
            bias = (p + 1) / (n - p - 2) if n > p + 2 else float("inf")
            if bias > BIAS_WARNING:
                warnings.warn(f"{said}; the inverse of the sample covariance biases the constants by about "
                              f"+{100 * bias:.0f} % (more for correlated frames; the mean of an inverse Wishart "
                              "matrix: T. W. Anderson, An Introduction to Multivariate Statistical Analysis, Wiley, "
                              "2003), of which the jackknife's bias_ corrects only a part. Give a longer run (about "
                              f"{20 * p} independent frames for 5 %) or the ideal reference", UserWarning, stacklevel=4)
        elif n < 2 * p:
            warnings.warn(f"{said}; the force covariance is barely determined (rank at most n - 1) and its small "
                          f"eigenvalues are noise. Give a longer run (about {20 * p} frames) or the ideal reference",
                          UserWarning, stacklevel=4)

    def _blocking(self, covariance: np.ndarray) -> BlockingAnalysis:
        """The blocking analysis of the sums along the eigenvectors of the symmetrised ``covariance`` (3N, 3N), the
        three uniform translations left out, at most :data:`BLOCKING_MODES` of them evenly over the spectrum."""
        lam, vec = np.linalg.eigh(0.5 * (covariance + covariance.T))
        vec = _canonical_modes(lam, vec)
        keep = np.ones(len(lam), dtype=bool)
        keep[np.argsort(np.abs(lam), kind="stable")[:3]] = False
        modes = np.flatnonzero(keep & (lam > 0))
        if len(modes) > BLOCKING_MODES:
            modes = modes[np.unique(np.linspace(0, len(modes) - 1, BLOCKING_MODES).round().astype(int))]
        E = vec[:, modes]
        theta = None
        dt = self.frame_interval_
        if dt is not None:
            m = np.repeat(np.asarray(self.supercell_.masses, float), 3) @ E ** 2        # amu along each mode
            kT = KB_EV * self.temperature_
            w2 = kT / (m * lam[modes]) if self.covariance == "displacements" else lam[modes] / (kT * m)
            theta = 2 * _RAD_PS * np.sqrt(w2) * dt                                       # 2 omega_k, rad per frame
        return self.sums_.blocking(self.covariance, E, theta)

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

    def _estimate(self, drop: int | None, with_covariance: bool = False):
        C = self._as_constants(self._working.covariances(self.covariance, drop)).full()
        N = self.supercell_.n_atoms
        C = C.transpose(0, 2, 1, 3).reshape(3 * N, 3 * N)
        fc = self._as_constants(self._constants(C))
        return (fc, C) if with_covariance else fc

    def jackknife(self, function) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Value, standard error and bias of any function of the constants, by the delete-one-block jackknife, the
        error widened by :attr:`error_inflation_` (module docstring).

        Parameters
        ----------
        function : callable
            ``function(ForceConstants) -> array_like`` (e.g. frequencies at some q-points).

        Returns
        -------
        (value, error, bias) : ndarrays of the function's shape
            The value with every frame; its standard error (the jackknife's times :attr:`error_inflation_`, with
            :attr:`dof_` degrees of freedom) and the jackknife's bias estimate (subtract the bias for the first-order
            bias-corrected value).
        """
        value = np.asarray(function(self.force_constants_), dtype=float)
        sk = self._skeleton
        rs = np.array([np.asarray(function(ForceConstants(s, self.supercell_, sk.primitive, smap=sk.smap, p2s=sk.p2s)),
                                  dtype=float) for s in self.jackknife_samples_])
        B = len(rs)
        mean = rs.mean(axis=0)
        err = self.error_inflation_ * np.sqrt((B - 1) / B * ((rs - mean) ** 2).sum(axis=0))
        return value, err, (B - 1) * (mean - value)


class KuboDisplacementConstants(_CentroidKubo):
    """Effective force constants from the centroid's displacement covariance, Phi = k_B T [<du_c du_c^T>]^+ (module
    docstring; Morresi, Paulatto, Vuilleumier and Casula, J. Chem. Phys. 154, 224108 (2021)).

    Estimator style (:class:`~trajmodes.forceconstants.ForceConstantsEstimator`): settings here, :meth:`fit` (a run),
    :meth:`fit_arrays` (frames in memory) or :meth:`fit_sums` (the sums of a pass) return the estimator, results end in
    ``_``.

    Parameters
    ----------
    temperature : float, optional
        K, the run's (thermostat) temperature; default a ring-polymer run's ``temperature``.
    blocks : int
        Contiguous blocks of frames of the jackknife error bars (B - 1 degrees of freedom); the blocking analysis widens
        the errors where the blocks are not much longer than the centroid's correlation time (module docstring).
    symmetrize : bool
        Symmetrise the covariance and the constants under the supercell's space group (default); False: only
        permutation symmetry and the sum rule.
    symprec : float
        spglib tolerance, Å.
    blocking : bool
        Widen the jackknife's errors by the blocking analysis (default); False: the plain jackknife (blocks taken as
        independent, the errors marked as lower bounds).

    Attributes
    ----------
    force_constants_ : ForceConstants
        Full layout (N, N, 3, 3), eV/Å², symmetrised, the acoustic sum rule exact.
    force_constants_err_ : ndarray (N, N, 3, 3)
        Standard errors, eV/Å²: the jackknife's times ``error_inflation_``.
    error_inflation_ : float
        sqrt(g / E[g_B]) of the blocking analysis (1 with ``blocking=False``).
    blocking_ : BlockingAnalysis
        The statistical inefficiency of the centroid's mode variances at each regrouping, its fit and its plateau.
    lower_bound_ : bool
        True where the errors are lower bounds (fewer than :data:`MIN_INDEPENDENT` independent samples, or no
        blocking analysis).
    dof_ : int
        B - 1, the degrees of freedom of the errors.
    frame_interval_ : float or None
        ps between frames (the modes' oscillation in the blocking model).
    bias_ : ndarray (N, N, 3, 3)
        Jackknife estimate of the bias (the bias-corrected constants are ``force_constants_.full() - bias_``).
    jackknife_samples_ : ndarray (B, N, N, 3, 3)
        The delete-one-block estimates (:meth:`jackknife` propagates them).
    sums_ : BlockSums
        Over the base blocks (a multiple of ``blocks``).
    n_frames_ : int
        Frames of the centroid summed.
    temperature_ : float
        K, the temperature the constants were computed at.
    supercell_ : Crystal
        The reference crystal of the sums (the run's supercell).
    primitive_ : Crystal
        Its primitive cell, for the phonons.
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

    Parameters
    ----------
    temperature : float, optional
        K, the run's (thermostat) temperature; default a ring-polymer run's ``temperature``.
    blocks : int
        Contiguous blocks of frames of the jackknife error bars (B - 1 degrees of freedom).
    symmetrize : bool
        Symmetrise the covariance and the constants under the supercell's space group (default); False: only
        permutation symmetry and the sum rule.
    symprec : float
        spglib tolerance, Å.
    blocking : bool
        Widen the jackknife's errors by the blocking analysis (default); False: the plain jackknife (the errors marked
        as lower bounds).
    """

    covariance = "forces"

    def _constants(self, covariance: np.ndarray) -> np.ndarray:
        return covariance / (KB_EV * self.temperature_)
