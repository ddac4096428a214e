"""From an ONNX file to tinygen IR: loading (loader.py), layout decisions (layout.py), import (importer.py)."""
