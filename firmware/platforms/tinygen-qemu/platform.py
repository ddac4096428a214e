"""tinygen's QEMU dev-platform: no packages to install (the toolchain and QEMU come from the system)."""

from platformio.public import PlatformBase


class TinygenqemuPlatform(PlatformBase):
    pass
