"""Function modules, chosen by the step's input (`module: cluster`)."""

import importlib

from myplatform.core import PlatformError


def load(name: str):
    """(Composition class, deploy function) of the module `name`."""
    if not name.isidentifier():
        msg = f"input.module {name!r} is not a module name"
        raise PlatformError(msg)
    try:
        module = importlib.import_module(f"modules.{name}")
    except ModuleNotFoundError as e:
        msg = f"input.module {name!r}: no such module"
        raise PlatformError(msg) from e
    return module.COMPOSITION, module.deploy
