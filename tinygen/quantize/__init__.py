"""Calibration (observed float ranges) and quantization (int8 parameters for every tensor and op)."""
