"""Regenerate flowno_0_1_19_modules.json: flowno 0.1.19's module paths and their public names.

Run with an interpreter that has flowno 0.1.19 installed (the benchmark venv has it)::

    .bench-venv/bin/python tests/compat/generate_flowno_modules.py

The rule for a module's public names: every name in ``dir(module)`` that does not start with "_"
and is not a module, a logger or a type variable (TypeVar, TypeVarTuple, ParamSpec), and that
either (a) is an object flowno defined (its ``__module__`` starts with "flowno": classes,
functions, NewTypes, generic aliases of flowno classes, wherever flowno re-exported them), or
(b) is assigned at the top level of the module's own source (constants and type aliases such as
``DeltaTime = float`` or ``Generation = tuple[int, ...] | None``). Typing helpers and standard
library names that a module merely imports are not its API.
"""

from __future__ import annotations

import ast
import importlib
import json
import logging
import pkgutil
import types
import typing
from pathlib import Path

import typing_extensions

import flowno

OUT = Path(__file__).with_name("flowno_0_1_19_modules.json")
_TYPE_VARS = (typing.TypeVar, typing.ParamSpec, typing_extensions.TypeVarTuple, typing.TypeVarTuple)


def _assigned_names(module: types.ModuleType) -> set[str]:
    tree = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
    names: set[str] = set()
    for statement in tree.body:
        targets: list[ast.expr] = []
        if isinstance(statement, ast.Assign):
            targets = list(statement.targets)
        elif isinstance(statement, ast.AnnAssign):
            targets = [statement.target]
        for target in targets:
            names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def public_names(module: types.ModuleType) -> list[str]:
    assigned = _assigned_names(module)
    names = []
    for name in dir(module):
        if name.startswith("_"):
            continue
        value = getattr(module, name)
        if isinstance(value, (types.ModuleType, logging.Logger, *_TYPE_VARS)):
            continue
        defined_by_flowno = str(getattr(value, "__module__", None) or "").startswith("flowno")
        if defined_by_flowno or name in assigned:
            names.append(name)
    return sorted(names)


def main() -> None:
    assert flowno.__version__ == "0.1.19", flowno.__version__
    paths = ["flowno", *(info.name for info in pkgutil.walk_packages(flowno.__path__, "flowno."))]
    table = {path: public_names(importlib.import_module(path)) for path in sorted(paths)}
    OUT.write_text(json.dumps(table, indent=1) + "\n")
    print(f"{len(table)} modules, {sum(map(len, table.values()))} names -> {OUT}")


if __name__ == "__main__":
    main()
