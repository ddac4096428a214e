"""The PlatformIO environments a generated project offers: the host simulator, Cortex-M boards
emulated by QEMU (tinygen's local dev-platforms, offline) and real boards (PlatformIO's official
platforms, which need its registry once).

For real boards the CPU and FPU flags are set by the official platform and its Arduino core
(they must match the core's precompiled libraries); `flags` records them so that `tinygen
boards` can show them and `local_twin()` can compile the same sources with the same flags
using the system arm-none-eabi toolchain. `__ARM_FEATURE_DSP` follows from `-mcpu` (Cortex-M4,
M7 and M33 have the DSP extension; M0+ and M3 do not); the DSP kernels key on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import TinygenError

KiB = 1024
MiB = 1024 * 1024


@dataclass(frozen=True)
class Env:
    name: str
    kind: str  # "host", "qemu" or "board"
    title: str
    platform: str  # a tinygen dev-platform folder name, or an official platform name
    board: str | None
    cpu: str | None  # -mcpu value (None: not an Arm core)
    flags: tuple[str, ...]  # CPU/FPU flags the env compiles with
    dsp: bool  # the core has the Arm DSP extension (__ARM_FEATURE_DSP)
    ram: int  # bytes
    flash: int  # bytes
    framework: str | None = None
    qemu_machine: str | None = None
    instructions_per_tick: int | None = None  # SysTick under `-icount shift=0`, measured

    @property
    def local(self) -> bool:
        """Built with tinygen's own dev-platforms (works offline)."""
        return self.kind in ("host", "qemu")


def _qemu(name: str, machine: str, cpu: str, fpu: tuple[str, ...], title: str, ram: int,
          per_tick: int) -> Env:
    board = machine.replace("-", "_")
    return Env(name, "qemu", title, "tinygen-qemu", board, cpu, (f"-mcpu={cpu}", "-mthumb", *fpu),
               cpu != "cortex-m3", ram, 4 * MiB, qemu_machine=machine, instructions_per_tick=per_tick)


ENVS: dict[str, Env] = {env.name: env for env in [
    Env("host", "host", "host simulator (this computer, system C compiler)", "tinygen-host", None, None, (),
        False, 0, 0),
    _qemu("qemu_m3", "mps2-an385", "cortex-m3", (), "ARM MPS2 AN385, Cortex-M3 (QEMU)", 4 * MiB, 40),
    _qemu("qemu_m4", "mps2-an386", "cortex-m4", ("-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"),
          "ARM MPS2 AN386, Cortex-M4F (QEMU)", 4 * MiB, 40),
    _qemu("qemu_m7", "mps2-an500", "cortex-m7", ("-mfpu=fpv5-d16", "-mfloat-abi=hard"),
          "ARM MPS2 AN500, Cortex-M7 (QEMU)", 4 * MiB, 40),
    _qemu("qemu_m33", "mps2-an505", "cortex-m33", ("-mfpu=fpv5-sp-d16", "-mfloat-abi=hard"),
          "ARM MPS2 AN505, Cortex-M33 (QEMU)", 2 * MiB, 50),
    Env("nucleo_f446re", "board", "ST Nucleo-F446RE, STM32F446 Cortex-M4F 180 MHz", "ststm32", "nucleo_f446re",
        "cortex-m4", ("-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"), True,
        128 * KiB, 512 * KiB, framework="arduino"),
    Env("nucleo_h743zi", "board", "ST Nucleo-H743ZI, STM32H743 Cortex-M7 480 MHz", "ststm32", "nucleo_h743zi",
        "cortex-m7", ("-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard"), True,
        512 * KiB, 2 * MiB, framework="arduino"),
    Env("nano33ble", "board", "Arduino Nano 33 BLE, nRF52840 Cortex-M4F 64 MHz", "nordicnrf52", "nano33ble",
        "cortex-m4", ("-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=softfp"), True,
        256 * KiB, 960 * KiB, framework="arduino"),
    Env("pico", "board", "Raspberry Pi Pico, RP2040 Cortex-M0+ 133 MHz", "raspberrypi", "pico",
        "cortex-m0plus", ("-mcpu=cortex-m0plus", "-mthumb"), False, 264 * KiB, 2 * MiB, framework="arduino"),
    Env("esp32dev", "board", "Espressif ESP32-DevKitC, Xtensa LX6 240 MHz", "espressif32", "esp32dev",
        None, (), False, 320 * KiB, 1280 * KiB, framework="arduino"),
    Env("teensy41", "board", "PJRC Teensy 4.1, i.MX RT1062 Cortex-M7 600 MHz", "teensy", "teensy41",
        "cortex-m7", ("-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard"), True,
        512 * KiB, 7936 * KiB, framework="arduino"),
]}

QEMU_ENVS = [name for name, env in ENVS.items() if env.kind == "qemu"]
LOCAL_ENVS = [name for name, env in ENVS.items() if env.local]


def env_named(name: str) -> Env:
    try:
        return ENVS[name]
    except KeyError:
        raise TinygenError(f"unknown environment '{name}'",
                           hint=f"Choose from: {', '.join(ENVS)} (`tinygen boards` describes them).") from None


def fit_target(board: str | None, ram_kib: int | None = None, flash_kib: int | None = None) -> Env | None:
    """The board a fit check compares a model with: an env of the table, or a board file (JSON:
    {"name": ..., "ram_kib": ..., "flash_kib": ..., "cpu": "cortex-m4"}, cpu optional), with
    --ram/--flash overriding its sizes; sizes alone describe a board named "custom"."""
    if board is None and ram_kib is None and flash_kib is None:
        return None
    if board is None:
        if ram_kib is None or flash_kib is None:
            raise TinygenError("a custom board needs both --ram and --flash (KiB)",
                               hint="For example --ram 96 --flash 256, or --board with a name or a board file.")
        env = Env("custom", "board", "custom board", "", None, None, (), False, 0, 0)
    elif board.endswith(".json") or Path(board).is_file():
        env = _board_file(Path(board))
    else:
        env = env_named(board)
    return replace(env, ram=env.ram if ram_kib is None else ram_kib * KiB,
                   flash=env.flash if flash_kib is None else flash_kib * KiB)


def _board_file(path: Path) -> Env:
    try:
        spec = json.loads(path.read_text())
    except FileNotFoundError:
        raise TinygenError(f"{path}: no such board file") from None
    except (OSError, ValueError) as exc:
        raise TinygenError(f"{path}: not a readable JSON board file ({exc})") from None
    sizes: dict[str, int] = {}
    for key in ("ram_kib", "flash_kib"):
        value = spec.get(key) if isinstance(spec, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            sizes[key] = value
    bad = [key for key in ("ram_kib", "flash_kib") if key not in sizes]
    if not isinstance(spec, dict) or bad:
        raise TinygenError(f"{path}: a board file needs positive integers {' and '.join(bad or list(sizes))} (KiB)",
                           hint='For example {"name": "my_board", "ram_kib": 96, "flash_kib": 256, "cpu": '
                                '"cortex-m4"}.')
    cpu = spec.get("cpu")
    name = str(spec.get("name") or path.stem)
    return Env(name, "board", str(spec.get("title", name)), "", None, cpu, (f"-mcpu={cpu}",) if cpu else (),
               cpu in ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55"), sizes["ram_kib"] * KiB,
               sizes["flash_kib"] * KiB)


def select(names: list[str] | tuple[str, ...] | None) -> list[Env]:
    """The envs named (in table order, duplicates dropped); all of them if none are named."""
    if not names:
        return list(ENVS.values())
    wanted = {env_named(name).name for name in names}
    return [env for name, env in ENVS.items() if name in wanted]


def local_twin(env: Env) -> tuple[str, str]:
    """(qemu board, fpu flags) of a tinygen-qemu env that compiles with `env`'s core flags.

    The twin builds the same sources with the system arm-none-eabi toolchain, offline, for the
    real board's -mcpu and float ABI; it even runs in QEMU, on a machine whose core executes
    the board's instruction set (Cortex-M0+ code runs on the Cortex-M3 machine).
    """
    if env.cpu is None:
        raise TinygenError(f"{env.name}: not an Arm Cortex-M core; no local twin")
    machine = {"cortex-m0plus": "mps2_an385", "cortex-m3": "mps2_an385", "cortex-m4": "mps2_an386",
               "cortex-m7": "mps2_an500", "cortex-m33": "mps2_an505"}[env.cpu]
    fpu = " ".join(flag for flag in env.flags if flag.startswith(("-mfpu", "-mfloat-abi")))
    return machine, fpu
