"""`tinygen boards`: the PlatformIO environments a generated project can have."""

from __future__ import annotations

import click

from .common import Context


def size_text(size: int) -> str:
    if size == 0:
        return "-"
    return f"{size // (1024 * 1024)} MiB" if size % (1024 * 1024) == 0 else f"{size // 1024} KiB"


@click.command("boards")
@click.pass_obj
def command(obj: Context) -> None:
    """List the environments with their RAM and flash, core flags and how they build.

    \b
    offline: tinygen's local dev-platforms (host simulator, QEMU) with system toolchains.
    registry: PlatformIO's official platform, downloaded on first use (internet needed once).

    \b
    Example:
      tinygen boards
      tinygen compile model.onnx -o out/ --board nucleo_f446re   # does it fit?
    """
    from ..platformio.envs import ENVS

    click.echo(f"{'env':<15}{'RAM':>9}{'flash':>9}  {'builds':<9}{'DSP':<5}{'core flags':<62}board")
    for env in ENVS.values():
        flags = " ".join(env.flags) or ("system C compiler" if env.kind == "host" else "Xtensa (no Arm flags)")
        builds = "offline" if env.local else "registry"
        click.echo(f"{env.name:<15}{size_text(env.ram):>9}{size_text(env.flash):>9}  {builds:<9}"
                   f"{'yes' if env.dsp else 'no':<5}{flags:<62}{env.title}")
