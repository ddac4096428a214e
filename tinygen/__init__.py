"""tinygen: compile ONNX neural networks into standalone int8 C for microcontrollers.

    import tinygen
    model = tinygen.compile("model.onnx", "out/", calib="calib.npz")
    y = model.run(x)            # host simulator, float in / float out, model's layout
    y8 = model.golden(x)        # numpy golden reference
    check = tinygen.verify("out/")                  # golden vs host C bit for bit; int8 vs float
    report = tinygen.report("out/", board="nucleo_f446re")   # per-layer costs, fit; .lines(), .html()
    result = tinygen.evaluate("out/", "test.npz")   # accuracy float vs int8 on labelled data

`compile` also takes an `onnx.ModelProto`, and `calib=` a numpy array (or a dict of arrays). These
functions are imported on first use, so importing a submodule (the command
line starts with tinygen.__main__) does not pull in numpy and onnx before its Ctrl-C handler is in
place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .api import compile, load, report, verify
    from .evaluation import Evaluation, evaluate
    from .reporting import Report
    from .verification import VerifyReport

__all__ = ["Evaluation", "Report", "VerifyReport", "__version__", "compile", "evaluate", "load", "report", "verify"]


def __getattr__(name: str) -> Any:
    if name in ("compile", "load", "verify", "report", "Report", "VerifyReport"):
        from . import api

        return getattr(api, name)
    if name in ("evaluate", "Evaluation"):
        from . import evaluation

        return getattr(evaluation, name)
    raise AttributeError(f"module 'tinygen' has no attribute {name!r}")
