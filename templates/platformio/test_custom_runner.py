"""PlatformIO test runner of tinygen's generated tests (`test_framework = custom`).

The tests print Unity's line format themselves (firmware/tinygen_harness/tg_unit.h), so this
runner reuses PlatformIO's Unity output parser but adds no Unity library: `pio test` needs no
download and works offline.
"""

from platformio.test.runners.unity import UnityTestRunner


class CustomTestRunner(UnityTestRunner):
    EXTRA_LIB_DEPS = None

    def configure_build_env(self, env):
        return env
