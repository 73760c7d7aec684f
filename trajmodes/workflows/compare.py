"""``trajmodes compare``: the MD lines of a run (the peak fits of ``trajmodes project``) beside perturbation theory
from the constants fitted to the same run, level by level, with the conductivity from each
(:func:`~trajmodes.modes.comparison.compare_three_phonon`)."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ComparisonInputs", "comparison_inputs", "compare_with_theory"]


@dataclass(frozen=True)
class ComparisonInputs:
    """What ``trajmodes compare`` sets side by side (:func:`comparison_inputs`).

    Parameters
    ----------
    modes : xarray.Dataset
        The run's mode analysis with its peak fits (a ``trajmodes project`` file, read whole).
    force_constants : ForceConstants
        fc2 and fc3 (and fc4 where fitted) of the same run.
    """

    modes: object
    force_constants: object

    @property
    def four_phonon(self) -> bool:
        """Whether the constants hold a fourth order (a further level of theory, with four-phonon widths)."""
        return self.force_constants.fc4 is not None


def comparison_inputs(modes, force_constants) -> ComparisonInputs:
    """The ``trajmodes project`` file ``modes`` and the constants of the file or folder ``force_constants``, read and
    checked before anything is computed: constants without a third order, and a file without peak fits, are refused
    in one line that says what to give.

    Parameters
    ----------
    modes : str or os.PathLike
        A ``trajmodes project`` file (``modes.nc``) with its peak fits.
    force_constants : str or os.PathLike
        A force-constant file or folder with a third order (eV/Å³), as
        :func:`~trajmodes.workflows.reading.load_force_constants` reads it.
    """
    from trajmodes.workflows.modes import read_modes
    from trajmodes.workflows.reading import load_force_constants
    fc = load_force_constants(force_constants)
    if fc.fc3_sparse is None:
        raise ValueError(f"{force_constants}: these force constants have no third-order part; fit them to the same run "
                         "with --cutoff3 (trajmodes fit)")
    ds = read_modes(modes)
    if "peak_fwhm" not in ds:
        raise ValueError(f"{modes}: no peak fits in this file; give the output of `trajmodes project`")
    return ComparisonInputs(ds, fc)


def compare_with_theory(inputs: ComparisonInputs, *, temperature: float | None = None, smearing: float | None = None,
                        constants: str = "effective", bulk_points: int | None = 30000, allow_unstable: bool = False,
                        progress=None):
    """The comparison dataset of ``trajmodes compare`` (:func:`~trajmodes.modes.comparison.compare_three_phonon` of
    ``inputs``, :func:`comparison_inputs`): the MD widths, shifts and lineshapes beside the three-phonon (and, with a
    fourth order, four-phonon) ones on the run's q-points at ``temperature`` (K, default the run's), and the
    conductivity from each. ``constants`` says what fc2 is ("effective": fitted to the run, "static": 0 K);
    ``bulk_points`` the q-points of the converged bulk mesh (None: none); ``progress`` turns each step's label into a
    context manager around it.

    Parameters
    ----------
    inputs : ComparisonInputs
        The run's mode spectra and the force constants (:func:`comparison_inputs`).
    temperature : float, optional
        K; default the run's.
    smearing : float, optional
        Gaussian standard deviation of the energy conservation on the MD grid, THz; default from the theory's own
        widths (:func:`~trajmodes.compare_three_phonon`).
    constants : {"effective", "static"}
        What fc2 is: fitted to the run (effective, at its temperature), or the 0 K constants of the potential.
    bulk_points : int or None
        About this many q-points in the converged bulk mesh of the three-phonon widths; None: the MD grid only.
    allow_unstable : bool
        Go on with constants that have imaginary modes (they are refused without it).
    progress : callable, optional
        Turns each step's label into a context manager around it (the command line's step lines); default silent.
    """
    from trajmodes.modes.comparison import compare_three_phonon
    return compare_three_phonon(inputs.modes, inputs.force_constants, temperature=temperature, smearing=smearing,
                                constants=constants, bulk_points=bulk_points, allow_unstable=allow_unstable,
                                progress=progress)
