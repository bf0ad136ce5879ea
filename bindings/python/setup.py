# SPDX-License-Identifier: Apache-2.0
"""Builds agentcore._agentcore with CMake for pip (metadata: pyproject.toml).

The repository two levels up is configured with only the Python module on (no tests, server,
tools) for the interpreter running pip, in setuptools' build directory; or, when
AGENTCORE_CMAKE_BUILD_DIR names an existing build tree (e.g. build/release), that tree builds
its _agentcore target and the module is taken from it.
"""

import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        tree = os.environ.get("AGENTCORE_CMAKE_BUILD_DIR")
        if tree:
            build = pathlib.Path(tree).resolve()
        else:
            build = pathlib.Path(self.build_temp).resolve() / "cmake"
            generator = ["-G", "Ninja"] if shutil.which("ninja") else []
            subprocess.check_call(
                ["cmake", "-S", str(ROOT), "-B", str(build), *generator,
                 "-DCMAKE_BUILD_TYPE=Release", f"-DPython3_EXECUTABLE={sys.executable}",
                 "-DAGENTCORE_BUILD_PYTHON=ON", "-DAGENTCORE_BUILD_TESTS=OFF",
                 "-DAGENTCORE_BUILD_BENCHMARKS=OFF", "-DAGENTCORE_BUILD_EXAMPLES=OFF",
                 "-DAGENTCORE_BUILD_TOOLS=OFF", "-DAGENTCORE_BUILD_SERVER=OFF",
                 "-DAGENTCORE_INSTALL=OFF"])
        subprocess.check_call(["cmake", "--build", str(build), "--target", "_agentcore",
                               "-j", str(os.cpu_count() or 2)])
        built = sorted((build / "python" / "agentcore").glob("_agentcore*.so"))
        if not built:
            raise RuntimeError(f"no _agentcore module under {build}/python/agentcore")
        dest = pathlib.Path(self.get_ext_fullpath(ext.name))
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built[0], dest)


setup(ext_modules=[Extension("agentcore._agentcore", sources=[])],
      cmdclass={"build_ext": CMakeBuild})
