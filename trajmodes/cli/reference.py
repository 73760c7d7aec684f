"""The command-line reference generated from the parsers: one row per option name, the commands that take it, what
it means and each command's default (docs/cli.md holds this table; a test keeps the two equal)."""
from __future__ import annotations

import argparse

__all__ = ["option_rows", "options_table", "ALLOWED_DIFFERENCES"]

#: options whose form may differ between commands while the meaning stays one, with why
ALLOWED_DIFFERENCES = {
    "--reference": "series takes one reference per run",
    "--compare": "eam compares its shell constants with several sources at once",
    "--structure": "each command offers the structures it can build",
    "--constants": "which force constants: each command offers the kinds it has (compare: effective or static; eam: "
                   "analytic or finite-difference)",
    "--smearing": "a Gaussian width in THz everywhere; anharmonic (a regular mesh) also takes 'adaptive', compare "
                  "(the MD run's supercell grid) does not",
}

#: options every trajectory command shares, listed once under "read options"
_HIDDEN = {"-h", "--help", "--debug"}


def option_rows() -> dict[str, list[tuple[str, argparse.Action]]]:
    """Every option string with the (command, action) pairs that take it."""
    from trajmodes.cli.app import build_parser
    _, cmds = build_parser()
    rows: dict[str, list] = {}
    for name, parser in cmds.items():
        for action in parser._actions:
            for opt in action.option_strings:
                if opt in _HIDDEN or not opt.startswith("--"):
                    continue
                rows.setdefault(opt, []).append((name, action))
    return dict(sorted(rows.items()))


def _default(action: argparse.Action) -> str:
    d = action.default
    if d is None or d is False or d is argparse.SUPPRESS:
        return ""
    if isinstance(d, (list, tuple)) and len(d) > 6:
        return f"{d[0]:g} .. {d[-1]:g}"
    if hasattr(d, "tolist"):
        d = d.tolist()
        return f"{d[0]:g} .. {d[-1]:g}" if len(d) > 6 else str(d)
    return str(d)


def options_table() -> str:
    """Markdown: option | commands | meaning | defaults (per command where they differ)."""
    lines = ["| option | commands | meaning | default |", "|---|---|---|---|"]
    for opt, uses in option_rows().items():
        commands = ", ".join(name for name, _ in uses)
        meaning = " ".join((uses[0][1].help or "").split()).replace("|", "/").replace("%%", "%")
        defaults = {name: _default(a) for name, a in uses}
        if len(set(defaults.values())) == 1:
            default = next(iter(defaults.values()))
        else:
            default = "; ".join(f"{n}: {d or '-'}" for n, d in defaults.items())
        lines.append(f"| `{opt}` | {commands} | {meaning} | {default} |")
    return "\n".join(lines) + "\n"
