"""tinygen's host dev-platform: no packages to install (the C compiler comes from the system)."""

from platformio.public import PlatformBase


class TinygenhostPlatform(PlatformBase):
    pass
