"""Builds the extension with CMake (pyproject.toml says the rest): configure build-pip/ for the
Python running pip, build the _legato target, and put the module beside legato/__init__.py."""
import os
import pathlib
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = ROOT / "build-pip"
        flags = [f"-DPYTHON_EXECUTABLE={sys.executable}", "-DCMAKE_BUILD_TYPE=Release"]
        # LEGATO_CMAKE_ARGS adds options, e.g. "-DLEGATO_CUDA=OFF" for a quicker CPU-only build.
        flags += os.environ.get("LEGATO_CMAKE_ARGS", "").split()
        generator = ["-G", "Ninja"] if subprocess.run(["which", "ninja"], capture_output=True).returncode == 0 else []
        subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), *generator, *flags], check=True)
        subprocess.run(["cmake", "--build", str(build), "--target", "_legato"], check=True)
        built = next((build / "python" / "legato").glob("_legato*.so"))
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        self.copy_file(str(built), str(target))


setup(ext_modules=[Extension("legato._legato", sources=[])], cmdclass={"build_ext": CMakeBuild})
