"""tinygen: compile ONNX neural networks into standalone int8 C for microcontrollers.

    import tinygen
    model = tinygen.compile("model.onnx", "out/", calib="calib.npz")
    y = model.run(x)            # host simulator, float in / float out, model's layout
    y8 = model.golden(x)        # numpy golden reference
"""

from .api import compile, load
from .version import __version__

__all__ = ["__version__", "compile", "load"]
