"""Which frontend reads a model file: decided by the file's content, not its extension.

A TFLite flatbuffer carries the file identifier "TFL3" at bytes 4..8; everything else that is not
a recognisable other format goes to the ONNX loader (a protobuf has no magic number). Files of
formats tinygen does not read -- a PyTorch checkpoint, a Keras .h5/.keras file, a TensorFlow
SavedModel folder, a NumPy array -- are refused with one line naming the format and the export
that tinygen does read, instead of an ONNX parse error.
"""

from __future__ import annotations

import os
import zipfile
from typing import Literal

from ..errors import ModelError

TFLITE_IDENTIFIER = b"TFL3"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
NUMPY_SIGNATURE = b"\x93NUMPY"
ZIP_SIGNATURE = b"PK\x03\x04"

EXPORT_HINT = ("Export the model to ONNX (torch.onnx.export, tf2onnx) or to an int8 .tflite "
               "(tf.lite.TFLiteConverter with full-integer quantization).")


def model_format(path: str | os.PathLike[str]) -> Literal["onnx", "tflite"]:
    """'tflite' or 'onnx' for the frontend that reads `path`; ModelError (exit 2) for other formats."""
    path = os.fspath(path)
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "saved_model.pb")) or os.path.exists(
                os.path.join(path, "saved_model.pbtxt")):
            raise ModelError(path, "is a TensorFlow SavedModel folder; tinygen reads .onnx and int8 .tflite files",
                             hint="Convert it with tf.lite.TFLiteConverter.from_saved_model (full-integer "
                                  "quantization) or with tf2onnx.")
        raise ModelError(path, "is a directory, not a model file")
    if not os.path.exists(path):
        raise ModelError(path, "no such file")
    with open(path, "rb") as f:
        head = f.read(8)
    if head[4:8] == TFLITE_IDENTIFIER:
        return "tflite"
    if head.startswith(HDF5_SIGNATURE):
        raise ModelError(path, "is an HDF5 file (a Keras .h5 model?); tinygen reads .onnx and int8 .tflite files",
                         hint="Convert the Keras model with tf.lite.TFLiteConverter.from_keras_model "
                              "(full-integer quantization) or with tf2onnx.")
    if head.startswith(NUMPY_SIGNATURE):
        raise ModelError(path, "is a NumPy .npy array, not a model",
                         hint="Pass the model file first; data goes to --calib or --input.")
    if head.startswith(ZIP_SIGNATURE):
        raise ModelError(path, _zip_kind(path), hint=EXPORT_HINT)
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise ModelError(path, "is a Python pickle (a legacy PyTorch .pt/.pth checkpoint?); tinygen reads "
                               ".onnx and int8 .tflite files", hint=EXPORT_HINT)
    if path.lower().endswith(".tflite"):
        what = "is empty" if not head else (
            "is truncated (shorter than a flatbuffer header)" if len(head) < 8 else
            "has no TFLite identifier 'TFL3' at bytes 4..8: not a TFLite flatbuffer")
        raise ModelError(path, what, hint="Check that the file is a complete .tflite export.")
    return "onnx"


def _zip_kind(path: str) -> str:
    """What a zip archive passed as a model is, as one line."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return "is a damaged zip archive, not a model"
    basenames = {name.rsplit("/", 1)[-1] for name in names}
    if "config.json" in names and any(n.endswith(".weights.h5") or n == "model.weights.h5" for n in names):
        return "is a Keras .keras archive; tinygen reads .onnx and int8 .tflite files"
    if "data.pkl" in basenames:
        return "is a PyTorch checkpoint (torch.save zip); tinygen reads .onnx and int8 .tflite files"
    if names and all(n.endswith(".npy") for n in names):
        return "is a NumPy .npz archive, not a model"
    if "config.json" in names:
        return "is a Keras .keras archive; tinygen reads .onnx and int8 .tflite files"
    return "is a zip archive, not an ONNX or TFLite model"
