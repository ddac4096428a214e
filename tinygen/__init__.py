"""tinygen: compile ONNX neural networks into standalone int8 C for microcontrollers.

    import tinygen
    model = tinygen.compile("model.onnx", "out/", calib="calib.npz")
    y = model.run(x)            # host simulator, float in / float out, model's layout
    y8 = model.golden(x)        # numpy golden reference
"""

__version__ = "0.1.0"

from .api import compile, load

__all__ = ["__version__", "compile", "load"]
