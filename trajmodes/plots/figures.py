"""Shared pieces of every figure: a new figure without pyplot, atomic saving, band-path axes, and the way units and
symbols are written.

Figures are made with :class:`matplotlib.figure.Figure` directly, never through ``pyplot``: writing one never
switches the user's matplotlib backend (a notebook keeps its own) and leaves no figure open.

Units and symbols are written as a physicist writes them, with matplotlib's mathtext and Unicode (DejaVu Sans, the
default font, has every glyph used): Å, Å², W m⁻¹ K⁻¹, κ(ω), ±, ×. The package's data carry their units as plain
text (``"W/(m K)"``, ``"Angstrom^2/ps"``, ``"1/THz"``); :func:`unit` turns such a string into its typeset form and
:func:`axis_label` writes "quantity (unit)". Titles given by a caller (the command line's, in plain text:
``"r2 = 4.021 A"``, ``"4019.68 A^3"``) go through :func:`typeset`.
"""
from __future__ import annotations

import re

import numpy as np

__all__ = ["figure", "axes_for", "finish", "save", "plot_path", "path_axes", "unit", "axis_label", "typeset",
           "mesh_text", "fit_title", "heading", "legend_below", "KAPPA", "KAPPA_OMEGA", "KAPPA_UNIT", "KB"]

#: the thermal conductivity, its spectrum over frequency, its unit, and Boltzmann's constant, as figures write them
KAPPA = r"$\kappa$"
KAPPA_OMEGA = r"$\kappa(\omega)$"
KAPPA_UNIT = r"W m$^{-1}$ K$^{-1}$"
KB = r"$k_\mathrm{B}$"

#: plain-text unit names -> how a figure writes them (the rest are assembled by :func:`unit`)
_NAMES = {"Angstrom": "Å", "A": "Å", "mA": "mÅ", "Ang": "Å", "omega": "ω", "nu": "ν", "mu": "μ", "um": "μm"}


def _power(p: str) -> str:
    return "" if p in ("", "1") else f"$^{{{p}}}$"


def _factors(text: str, sign: int):
    """(name, power) of each factor of a product written ``"eV Angstrom^2"`` / ``"m*K"``; None where it is not one."""
    out = []
    for tok in re.split(r"[\s*·]+", text.strip()):
        if not tok:
            continue
        m = re.fullmatch(r"([A-Za-z%]+|1)(?:\^\(?(-?\d+(?:/\d+)?)\)?)?", tok)
        if m is None:
            return None
        name, power = m.group(1), m.group(2) or "1"
        if name == "1":
            continue
        if sign < 0:
            power = power[1:] if power.startswith("-") else "-" + power
        out.append((_NAMES.get(name, name), power))
    return out


def unit(text: str) -> str:
    """A unit written in plain text, typeset: ``"W/(m K)"`` -> ``"W m$^{-1}$ K$^{-1}$"``, ``"Angstrom^2"`` ->
    ``"Å$^{2}$"``, ``"1/THz"`` -> ``"THz$^{-1}$"``, ``"mA"`` (milli-angstrom) -> ``"mÅ"``. A product over at most one
    quotient (its denominator a product, bracketed or not) is written as powers; anything else (``"(eV A/ps)^2 ps"``)
    keeps its form with Å for A and powers raised."""
    text = str(text).strip()
    if not text or text == "1":
        return text
    if text in _NAMES:
        return _NAMES[text]
    num, _, den = text.partition("/")
    den = den.strip()
    if den.startswith("(") and den.endswith(")") and "(" not in den[1:-1]:
        den = den[1:-1]
    top = _factors(num, 1) if "(" not in num else None
    bottom = _factors(den, -1) if den and "/" not in den and "(" not in den else ([] if not den else None)
    if top is not None and bottom is not None and (top or bottom):
        return " ".join(name + _power(power) for name, power in top + bottom)
    # not a plain product: the same text with Å and raised powers
    out = re.sub(r"\bAngstrom\b|(?<![\w.])A(?![\w])", "Å", text)
    return re.sub(r"\^\(?(-?\d+(?:/\d+)?)\)?", lambda m: f"$^{{{m.group(1)}}}$", out)


def axis_label(quantity: str, units: str) -> str:
    """``"quantity (unit)"`` with the unit typeset (:func:`unit`); the quantity alone for a dimensionless one."""
    u = unit(units)
    return f"{quantity} ({u})" if u and u != "1" else quantity


def mesh_text(mesh) -> str:
    """A q-mesh as ``"16×16×16"`` (or ``""`` without one)."""
    return "×".join(str(int(m)) for m in np.atleast_1d(mesh if mesh is not None else []))


def typeset(text: str) -> str:
    """A caller's plain-text title or note with its units and symbols typeset: ``"4.021 A"`` -> ``"4.021 Å"``,
    ``"4019.68 A^3"`` -> ``"4019.68 Å$^{3}$"``, ``"eV/A^2"`` -> ``"eV/Å$^{2}$"``, ``"r2 = "`` -> ``"$r_2$ = "``,
    ``"+-"`` -> ``"±"``, ``"kappa"`` -> ``"κ"``. A text that is mathtext already (pairs of ``$``: :func:`fit_title`'s, a
    notebook's) is left as it is; a lone dollar sign (a file name's) is escaped first, so that only what this adds is
    math."""
    if not text:
        return ""
    s = str(text)
    bare = s.count("$") - s.count(r"\$")
    if bare and bare % 2 == 0:
        return s
    s = re.sub(r"(?<!\\)\$", r"\\$", s)
    s = re.sub(r"(?<![\w.])(?:Angstrom|A)\^(\d)", lambda m: f"Å$^{{{m.group(1)}}}$", s)
    s = re.sub(r"(\d|/|\b(?:eV|mm|nm|rad|per))\s?(?:Angstrom|A)\b(?![\^'-])", lambda m: m.group(1)
               + (" " if m.group(0)[len(m.group(1)):][:1] == " " else "") + "Å", s)
    s = re.sub(r"\br([234])\s?=", lambda m: f"$r_{m.group(1)}$ =", s)
    s = s.replace("+-", "±").replace("+/-", "±")
    return re.sub(r"\bkappa\b", "κ", s)


def heading(what: str, title: str = "", fig=None, fontsize: float = 9, width: int | None = None) -> str:
    """A figure's heading: what it shows, then the caller's ``title`` (typeset, :func:`typeset`) after a colon, or on
    a line of its own where the two would not fit on one line of ``fig`` (at ``fontsize``; or ``width`` characters)."""
    if not title:
        return what
    title = typeset(title)
    if width is None:                                 # DejaVu Sans: about 0.55 em a character
        width = int(0.9 * (fig.get_figwidth() if fig is not None else 8.0) * 72 / (0.55 * fontsize))
    plain = len(re.sub(r"\$[^$]*\$", "xx", f"{what}: {title}"))
    return f"{what}: {title}" if plain <= width else f"{what}\n{title}"


def legend_below(fig, ax, handles=None, labels=None, ncols: int = 3, fontsize: float = 7.5):
    """One legend under the figure's panels (a legend inside a panel covers curves there): ``ax``'s handles unless
    given. Under constrained layout (the package's figures, and a caller's made with ``layout="constrained"``) it sits
    outside the axes; in a caller's figure without it, inside ``ax`` where it covers least (``loc="best"``)."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
        return fig.legend(handles, labels, loc="outside lower center", ncols=min(ncols, len(handles)),
                          fontsize=fontsize, frameon=False)
    return ax.legend(handles, labels, fontsize=fontsize, frameon=False, loc="best")


def fit_title(species, temperature=None, mode: str | None = None, cutoff2=None, cutoff3=None,
              n_beads: int | None = None) -> str:
    """What a figure of effective phonons shows, from the fit's facts: ``"Cu, effective phonons at 293 K (sequential
    fit, $r_2$ = 4.02 Å)"``. ``species``: a name or the primitive cell's species (each named once, in order);
    ``n_beads``: the constants were fitted over the beads of a path-integral run of that many beads (the quantum
    ensemble's: ``"Ne, quantum effective phonons at 20 K (8 beads, ...)"``).

    Parameters
    ----------
    species : str or sequence of str
        A name, or the primitive cell's species (each named once, in order).
    temperature : float, optional
        The runs' mean kinetic temperature, K.
    mode : str, optional
        The estimator's mode (``"sequential"``, ``"simultaneous"``).
    cutoff2, cutoff3 : float, optional
        The pair and triplet cutoffs of the fit, Å.
    n_beads : int, optional
        The beads of the path-integral run the constants were fitted over (the title then says "quantum").
    """
    names = [species] if isinstance(species, str) else list(dict.fromkeys(str(s) for s in np.atleast_1d(species)))
    quantum = n_beads is not None and int(n_beads) > 1
    head = (f"{'-'.join(names)}, {'quantum ' if quantum else ''}effective phonons"
            + (f" at {float(temperature):.0f} K" if temperature is not None and np.isfinite(temperature) else ""))
    how = ([f"{int(n_beads)} beads"] if quantum else []) + [f"{mode} fit" if mode else "fitted"]
    if cutoff2 is not None:
        how.append(f"$r_2$ = {float(cutoff2):.3g} Å")
    if cutoff3 is not None:
        how.append(f"$r_3$ = {float(cutoff3):.3g} Å")
    return f"{head} ({', '.join(how)})"


def figure(nrows: int, ncols: int, size, **kw):
    """A new figure and its axes (``Figure.subplots`` keywords in ``kw``), constrained layout."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.subplots(nrows, ncols, **kw)


def axes_for(ax, nrows: int, ncols: int, size, **kw):
    """The figure and axes a plot draws into: the caller's ``ax`` (one Axes for a one-panel figure, else a sequence of
    ``nrows * ncols`` Axes, in reading order), or a new figure (:func:`figure`). The axes come shaped as
    ``Figure.subplots`` would return them (``squeeze`` in ``kw``); the other ``kw`` apply to new figures only."""
    if ax is None:
        return figure(nrows, ncols, size, **kw)
    flat = np.ravel(np.asarray(ax, dtype=object))
    if flat.size != nrows * ncols:
        raise ValueError(f"this figure has {nrows * ncols} panel(s) ({nrows} x {ncols}): give ax= that many "
                         f"matplotlib Axes, not {flat.size}")
    if not kw.get("squeeze", True):
        return flat[0].figure, flat.reshape(nrows, ncols)
    if flat.size == 1:
        return flat[0].figure, flat[0]
    return flat[0].figure, (flat if nrows == 1 or ncols == 1 else flat.reshape(nrows, ncols))


def finish(fig, path=None, dpi: int = 130):
    """Save ``fig`` to ``path`` when one is given (:func:`save`), and return it."""
    if path is not None:
        save(fig, str(path), dpi=dpi)
    return fig


def save(fig, path: str, dpi: int = 130) -> None:
    """Write ``fig`` atomically (format from the file's extension)."""
    from trajmodes.io.filesystem import atomic_write
    fmt = str(path).rsplit(".", 1)[-1]
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=fmt))


def plot_path(ax, bands, **style):
    """Draw the frequencies of a band path segment by segment (no line across a jump); the first line drawn."""
    d, f, seg = bands.distance.values, bands.frequency.values, bands.segment.values
    first = None
    for s in np.unique(seg):
        sel = seg == s
        lines = ax.plot(d[sel], f[sel], **style)
        first = lines[0] if first is None else first
    return first


def path_axes(ax, bands, lo: float, hi: float, line_color: str = "0.7") -> None:
    """Band-path x axis (high-symmetry labels and separators, first to last point) and y limits [lo, hi] THz
    with margins."""
    ticks = [float(x) for x in np.atleast_1d(bands.attrs.get("tick_distance", []))]
    labels = [str(x) for x in np.atleast_1d(bands.attrs.get("tick_labels", []))]
    for x in ticks:
        ax.axvline(x, color=line_color, lw=0.6)
    ax.set_xticks(ticks, labels)
    d = bands.distance.values
    ax.set_xlim(d[0], d[-1])
    ax.set_ylim(lo - 0.03 * (hi - lo), hi + 0.05 * (hi - lo))
