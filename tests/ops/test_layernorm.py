"""LayerNormalization over the last axis (opset 17) and its decomposed form (ReduceMean, Sub, Pow 2 or a
self-Mul, ReduceMean, Add eps, Sqrt, Div, Mul gamma, Add beta, as PyTorch's legacy exporter writes it
below opset 17), recognized as one layer: integer mean and variance, an exact integer square root,
gamma and beta as a per-channel affine (ops/layernorm.py).

The bound: the normalized value is computed to ~2^-31 and rounded once to the output step; the input's
own rounding (0.5 step of s_in) moves it by 0.5 s_in / std, i.e. by about 0.5 |gamma| s_in / (std s_out)
output steps: about one step with the unit-variance inputs here, so 3 steps (default) hold."""

from __future__ import annotations

import numpy as np

from .harness import Case, const, make_model, node, standard_tests

SHAPE = [1, 6, 16]


def _affine(rng: np.random.Generator, width: int) -> dict[str, np.ndarray]:
    return {"gamma": (1 + 0.5 * rng.standard_normal(width)).astype(np.float32),
            "beta": (0.3 * rng.standard_normal(width)).astype(np.float32)}


def layernorm(case_id: str, shape: list[int] = SHAPE, bias: bool = True, negative_gamma: bool = False,
              epsilon: float = 1e-5, **kwargs) -> Case:
    def build():
        inits = _affine(np.random.default_rng(7), shape[-1])
        if negative_gamma:
            inits["gamma"][::3] *= -1
        inputs = ["x", "gamma", "beta"] if bias else ["x", "gamma"]
        return make_model([node("LayerNormalization", inputs, "y", axis=-1, epsilon=epsilon)], {"x": shape}, ["y"],
                          inits if bias else {"gamma": inits["gamma"]}, opset=17)
    return Case(case_id, build, ops=["layer_norm"], **kwargs)


def decomposed(case_id: str, square: str = "Pow", affine: bool = True, opset: int = 13) -> Case:
    """nn.LayerNorm as torch.onnx.export(..., dynamo=False, opset_version < 17) writes it."""
    def build():
        inits = {"two": const(2.0), "eps": const(1e-5), **_affine(np.random.default_rng(8), SHAPE[-1])}
        if opset >= 18:
            inits["axes"] = const([-1], np.int64)
            mean = {"inputs": ["axes"], "attrs": {}}
        else:
            mean = {"inputs": [], "attrs": {"axes": [-1]}}
        nodes = [node("ReduceMean", ["x", *mean["inputs"]], "mean", **mean["attrs"]),
                 node("Sub", ["x", "mean"], "centered"),
                 node("Pow", ["centered", "two"], "squared") if square == "Pow"
                 else node("Mul", ["centered", "centered"], "squared"),
                 node("ReduceMean", ["squared", *mean["inputs"]], "variance", **mean["attrs"]),
                 node("Add", ["variance", "eps"], "variance_eps"), node("Sqrt", ["variance_eps"], "std"),
                 node("Div", ["centered", "std"], "normalized" if affine else "y")]
        if affine:
            nodes += [node("Mul", ["normalized", "gamma"], "scaled"), node("Add", ["scaled", "beta"], "y")]
        else:
            del inits["gamma"], inits["beta"]
        return make_model(nodes, {"x": SHAPE}, ["y"], inits, opset=opset)
    return Case(case_id, build, ops=["layer_norm"])


CASES = [
    layernorm("layernorm_opset17"),
    layernorm("layernorm_no_bias", bias=False),
    layernorm("layernorm_negative_gamma", negative_gamma=True),
    layernorm("layernorm_features_2d", shape=[1, 40]),
    layernorm("layernorm_rank4", shape=[1, 2, 3, 8]),
    layernorm("layernorm_offset_input", input_offset={"x": 3.0}, input_scale={"x": 0.5}),
    layernorm("layernorm_large_epsilon", epsilon=0.5),
    decomposed("layernorm_decomposed_pow"),
    decomposed("layernorm_decomposed_self_mul", square="Mul"),
    decomposed("layernorm_decomposed_no_affine", affine=False),
    decomposed("layernorm_decomposed_axes_input", opset=18),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)
