"""From an ONNX file to tinygen IR: loading (loader.py), layout decisions (layout.py), import (importer.py)."""

# The loader's rewrites (QOperator -> QDQ) register themselves on import; importing them here makes
# every use of the loader see them.
from . import expand as expand
