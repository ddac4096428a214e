"""`--board ENV` on compile and report: "fits" with the figures when the model fits the board's
RAM and flash; exit 2 with what is over and what would help when it does not (the output folder
is still written, for `tinygen report`; see docs/DESIGN.md); an unknown board is refused before
anything is compiled."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .conftest import MODELS, big_activations_model, big_weights_model


def test_compile_says_it_fits(tinygen_cli, tmp_path: Path) -> None:
    out = tmp_path / "kws"
    result = tinygen_cli("compile", MODELS / "kws_dscnn" / "kws_dscnn_int8_qdq.onnx", "-o", out,
                         "--board", "nucleo_f446re")
    assert result.code == 0, result.err
    line = next(line for line in result.out.splitlines() if "nucleo_f446re" in line)
    match = re.search(r"fits nucleo_f446re: RAM ([\d.]+) of 128 KiB, flash ([\d.]+) of 512 KiB \(estimated\)", line)
    assert match, line
    manifest = json.loads((out / ".tinygen" / "manifest.json").read_text())
    assert float(match.group(1)) == round(manifest["arena_bytes"] / 1024, 1)
    assert float(match.group(2)) * 1024 > manifest["constants_bytes"]
    assert "heaviest" in result.out and "tinygen report" in result.out


def test_compile_fails_when_the_activations_do_not_fit_the_ram(tinygen_cli, tmp_path: Path) -> None:
    model = big_activations_model(tmp_path / "big_activations.onnx")
    out = tmp_path / "out"
    result = tinygen_cli("compile", model, "-o", out, "--calib", "random", "--board", "nucleo_f446re")
    assert result.code == 2
    assert "does not fit nucleo_f446re: RAM" in result.err
    assert re.search(r"RAM: the model needs [\d,]+ B \(activation arena [\d,]+ B\), the board has 131,072 B",
                     result.err)
    assert "live at once around layer" in result.err and "row bands (patches)" in result.err
    assert "Boards it fits: nucleo_h743zi" in result.err  # 512 KiB of RAM
    assert "Flash:" not in result.err  # only what is over is explained
    assert "error: the model does not fit nucleo_f446re" in result.err
    assert (out / ".tinygen" / "manifest.json").exists()  # written, for `tinygen report`


def test_compile_fails_when_the_weights_do_not_fit_the_flash(tinygen_cli, tmp_path: Path) -> None:
    model = big_weights_model(tmp_path / "big_weights.onnx")
    result = tinygen_cli("compile", model, "-o", tmp_path / "out", "--calib", "random", "--board", "nucleo_f446re")
    assert result.code == 2
    assert "does not fit nucleo_f446re" in result.err
    over = re.search(r"Flash: the model needs ([\d,]+) B \(constants ([\d,]+) B\), the board has 524,288 B", result.err)
    assert over, result.err
    needed, constants = (int(group.replace(",", "")) for group in over.groups())
    assert needed > constants > 1024 * 600  # 614,400 int8 weights, plus bias and requantization parameters
    assert "the largest layers: 0 fully_connected" in result.err
    assert "RAM:" not in result.err
    assert "Boards it fits:" in result.err and "nano33ble" in result.err  # 960 KiB of flash


def test_report_checks_the_board_too(tinygen_cli, tmp_path: Path) -> None:
    model = big_activations_model(tmp_path / "big_activations.onnx")
    out = tmp_path / "out"
    assert tinygen_cli("-q", "compile", model, "-o", out, "--calib", "random").code == 0
    fits = tinygen_cli("report", out, "--no-sqnr", "--board", "nucleo_h743zi")
    assert fits.code == 0 and "fits nucleo_h743zi: RAM" in fits.out
    over = tinygen_cli("report", out, "--no-sqnr", "--board", "nucleo_f446re", "--json", tmp_path / "r.json")
    assert over.code == 2
    assert "does not fit nucleo_f446re" in over.out and "does not fit nucleo_f446re" in over.err
    board = json.loads((tmp_path / "r.json").read_text())["board"]
    assert board["env"] == "nucleo_f446re" and not board["fits"] and board["advice"]


def test_an_unknown_board_is_refused_before_compiling(tinygen_cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = tinygen_cli("compile", MODELS / "kws_dscnn" / "kws_dscnn_int8_qdq.onnx", "-o", out, "--board", "uno")
    assert result.code == 2
    assert "unknown environment 'uno'" in result.err and "nucleo_f446re" in result.err
    assert not out.exists()


def test_custom_boards_by_sizes_or_a_board_file(tinygen_cli, tmp_path: Path) -> None:
    """--ram/--flash (KiB) describe a board of one's own or override a listed one; a JSON board
    file names it; a malformed file or half a size pair is refused before compiling."""
    out = tmp_path / "kws"
    model = MODELS / "kws_dscnn" / "kws_dscnn_int8_qdq.onnx"
    result = tinygen_cli("compile", model, "-o", out, "--ram", "8", "--flash", "1024")
    assert result.code == 2 and "does not fit custom: RAM" in result.err and "of 8.0 KiB" in result.err
    fits = tinygen_cli("report", out, "--board", "nucleo_f446re", "--ram", "16", "--no-sqnr")
    assert fits.code == 0 and "fits nucleo_f446re: RAM" in fits.out and "of 16.0 KiB" in fits.out
    board = tmp_path / "my_l4.json"
    board.write_text(json.dumps({"name": "my_l4", "ram_kib": 4, "flash_kib": 2048, "cpu": "cortex-m4"}))
    small = tinygen_cli("report", out, "--board", board, "--no-sqnr")
    assert small.code == 2 and "does not fit my_l4: RAM" in small.out + small.err
    board.write_text(json.dumps({"name": "bad", "ram_kib": "lots"}))
    bad = tinygen_cli("compile", model, "-o", tmp_path / "never", "--board", board)
    assert bad.code == 2 and "ram_kib and flash_kib" in bad.err and not (tmp_path / "never").exists()
    half = tinygen_cli("compile", model, "-o", tmp_path / "never", "--ram", "64")
    assert half.code == 2 and "needs both --ram and --flash" in half.err and not (tmp_path / "never").exists()
