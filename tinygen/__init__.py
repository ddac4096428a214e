"""tinygen: compile ONNX neural networks into standalone int8 C for microcontrollers.

    import tinygen
    model = tinygen.compile("model.onnx", "out/", calib="calib.npz")
    y = model.run(x)            # host simulator, float in / float out, model's layout
    y8 = model.golden(x)        # numpy golden reference
    result = tinygen.evaluate("out/", "test.npz")   # accuracy float vs int8 on labelled data

`compile`, `load` and `evaluate` are imported on first use, so importing a submodule (the command
line starts with tinygen.__main__) does not pull in numpy and onnx before its Ctrl-C handler is in
place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .api import compile, load
    from .evaluation import Evaluation, evaluate

__all__ = ["Evaluation", "__version__", "compile", "evaluate", "load"]


def __getattr__(name: str) -> Any:
    if name in ("compile", "load"):
        from . import api

        return getattr(api, name)
    if name in ("evaluate", "Evaluation"):
        from . import evaluation

        return getattr(evaluation, name)
    raise AttributeError(f"module 'tinygen' has no attribute {name!r}")
