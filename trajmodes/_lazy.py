"""A package's public names imported from its modules on first use (PEP 562), so that importing one module of a
package does not import the others, and ``import trajmodes`` stays light."""
from __future__ import annotations

import importlib


def lazy_names(package: str, table: dict, namespace: dict):
    """The module-level ``__getattr__`` and ``__dir__`` of ``package`` (``__name__``), whose public names ``table``
    maps to the module of the package that defines each (relative, e.g. ``"fit"``); ``namespace`` is the package's
    ``globals()``, where each name is kept once imported.

    Returns
    -------
    (__getattr__, __dir__)
    """
    def __getattr__(name: str):
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{table[name]}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(table))
    return __getattr__, __dir__
