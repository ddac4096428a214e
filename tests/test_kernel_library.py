"""The kernel copier (tinygen/codegen/kernel_library.py): an output folder holds the kernel sources its
layers call and what those use, nothing else; the closure is found by scanning the C sources."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import tinygen
from tinygen.codegen.kernel_library import KERNEL_LIBRARY, kernel_library, scan


@pytest.fixture(scope="module")
def kws(mlperf_compiled) -> tinygen.model.CompiledModel:
    return mlperf_compiled("kws_dscnn")


def word_in(name: str, text: str) -> bool:
    return re.search(rf"\b{name}\b", text) is not None


def test_kws_holds_only_the_kernel_sources_its_layers_call(kws: tinygen.model.CompiledModel) -> None:
    out = kws.out_dir
    model_c = (out / "lib" / kws.manifest["name"] / f"{kws.manifest['name']}.c").read_text()
    kernels = out / "lib" / KERNEL_LIBRARY
    copied = {p.relative_to(kernels).as_posix(): p.read_text() for p in (kernels / "src").rglob("*.[ch]")}
    sources = sorted(p for p in copied if p.endswith(".c"))
    layer_calls = set(re.findall(r"\b(tg_\w+)\(&ctx,", model_c))
    assert {"tg_conv_1x1_s8", "tg_depthwise_conv_3x3_s8", "tg_softmax_s8"} <= layer_calls
    # Enough: every kernel a layer calls is defined, and the folder builds and runs (links).
    for function in layer_calls | {"tg_quantize_f32", "tg_dequantize_f32"}:
        assert any(re.search(rf"^\w.*\b{function}\(", copied[s], re.M) for s in sources), function
    x = np.random.default_rng(0).normal(0, 20, size=kws.inputs[0]["onnx_shape"]).astype(np.float32)
    assert np.array_equal(kws.run_float_api(x), kws.golden(x))  # through <model>_run_float: tg_quantize_f32
    # No more: each copied source defines a function model.c calls or one the other copied files use.
    for source in sources:
        defined, _, _ = scan(copied[source])
        others = "\n".join(text for path, text in copied.items() if path != source)
        assert any(word_in(name, model_c) or word_in(name, others) for name in defined), f"{source} is not used"
    # ... and the manifest lists them; the whole library is larger.
    assert kws.manifest["kernel_sources"] == [s.rsplit("/", 1)[1] for s in sources]
    library_sources = [p for p in kernel_library().files if p.endswith(".c")]
    assert len(sources) < len(library_sources)
    assert "src/tg_conv_wrapper_s8.c" not in copied  # the generator picks variants; no run-time wrapper


def test_closure_follows_a_dsp_variants_fallback_and_private_headers() -> None:
    library = kernel_library()
    needed = library.closure(["tg_conv_1x1_s8"])
    assert "src/tg_conv_s8.c" in needed  # the plain kernel tg_conv_1x1_s8 falls back to
    assert "src/tg_conv_block_s8.c" in needed  # the block code behind it (declared in a private header)
    assert any(p.endswith("/tg_conv_dsp.h") for p in needed)
    assert not any("im2col" in p or "add" in p for p in needed)  # declared beside it, not used
    # A header's inline code counts: tg_depthwise_row (tg_depthwise_rows.h) calls tg_depthwise_fill_row.
    assert "src/tg_depthwise_rows.c" in library.closure(["tg_depthwise_conv_fast_s8"])
    with pytest.raises(ValueError, match="defines tg_no_such_kernel"):
        library.closure(["tg_no_such_kernel"])


def test_scan_reads_definitions_uses_and_includes() -> None:
    text = '''/* tg_in_comment(x); */
#include "tg_conv.h"
#include <string.h>
#define TG_TWICE(x) tg_in_macro(x)
void tg_declared(int a);
typedef void (*tg_stage)(int a);
static TG_COLD __attribute__((cold)) int tg_defined(int a, void (*f)(int))
{
    const char *s = "tg_in_string(1)";
    tg_called(a);
    return tg_pointer != 0 && s[0] == '{';
}
'''
    defines, uses, includes = scan(text)
    assert defines == {"tg_defined"}
    assert {"tg_called", "tg_pointer", "tg_in_macro"} <= uses
    assert not {"tg_declared", "tg_stage", "tg_in_comment", "tg_in_string", "tg_defined"} & uses
    assert includes == ("tg_conv.h",)


def test_every_source_is_named_after_the_function_it_defines() -> None:
    """CMSIS-NN's habit: src/<function>.c defines the public <function> and only its companions (its
    _get_buffer_size); the internal code the DSP variants share is named after its main function or its
    private header."""
    library = kernel_library()
    public = "\n".join(text.read_text() for text in (library.root / "include").glob("*.h"))
    for path, file in library.files.items():
        if path.endswith(".c"):
            name = Path(path).stem
            exported = {f for f in file.defines if word_in(f, public)}
            assert all(f.startswith(name) for f in exported), f"{path} defines public {sorted(exported)}"
            assert name in file.defines or (not exported and f"src/internal/{name}.h" in library.files), path
