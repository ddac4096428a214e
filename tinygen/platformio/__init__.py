"""PlatformIO support: the generated project (project.py), the environments (envs.py), running
PlatformIO offline (core.py), QEMU (qemu.py) and firmware size reports (size.py).

See docs/platformio.md.
"""
