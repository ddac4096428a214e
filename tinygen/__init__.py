"""tinygen: compile ONNX neural networks into standalone int8 C for microcontrollers.

    import tinygen
    model = tinygen.compile("model.onnx", "out/", calib="calib.npz")
    y = model.run(x)            # host simulator, float in / float out, model's layout
    y8 = model.golden(x)        # numpy golden reference
    result = tinygen.evaluate("out/", "test.npz")   # accuracy float vs int8 on labelled data
"""

from .api import compile, load
from .evaluation import Evaluation, evaluate
from .version import __version__

__all__ = ["Evaluation", "__version__", "compile", "evaluate", "load"]
