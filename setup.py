"""Build script: the optional compiled core.

Everything declarative lives in pyproject.toml.  This file compiles each
``src/_speedups/X_py.py`` of ``COMPILED_MODULES`` with Cython as
``flask_socketio._speedups.X_c`` (the pure-Python file stays in the package
as the fallback).

- ``FLASK_SOCKETIO_NO_EXTENSIONS=1``: build nothing (a pure install).
- ``FLASK_SOCKETIO_REQUIRE_EXTENSIONS=1``: a failed compile fails the build
  (CI and wheel builds) instead of giving a pure install with a warning.
- Interpreters other than CPython always get the pure install.
"""
import os
import platform
import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
NO_EXTENSIONS = bool(os.environ.get('FLASK_SOCKETIO_NO_EXTENSIONS')) or \
    platform.python_implementation() != 'CPython'
REQUIRE_EXTENSIONS = bool(os.environ.get('FLASK_SOCKETIO_REQUIRE_EXTENSIONS'))
#: src/_speedups/X_py.py, each compiled as flask_socketio._speedups.X_c
COMPILED_MODULES = ('codec', 'websocket')


def remove_stale_build():
    """A pure install must not leave an older in-place build (editable
    installs put it in src/_speedups/) to be imported instead of the .py."""
    for stale in HERE.glob('src/_speedups/*_c.*'):
        if stale.suffix in ('.so', '.pyd'):
            stale.unlink()


def extensions():
    if NO_EXTENSIONS:
        remove_stale_build()
        return []
    try:
        from Cython.Build import cythonize
        from setuptools import Extension
    except ImportError:
        if REQUIRE_EXTENSIONS:
            raise
        print('warning: Cython is not installed; installing pure Python',
              file=sys.stderr)
        return []
    # Cython looks for the augmenting X_c.pxd by module path, so each pure
    # source X_py.py is staged as flask_socketio/_speedups/X_c.py: the same
    # file, under the name it is compiled as
    stage = Path('build', 'cython-src', 'flask_socketio', '_speedups')
    stage.mkdir(parents=True, exist_ok=True)
    for package in (stage.parent, stage):
        (package / '__init__.py').touch()
    exts = []
    for name in COMPILED_MODULES:
        shutil.copyfile(HERE / f'src/_speedups/{name}_py.py',
                        stage / f'{name}_c.py')
        shutil.copyfile(HERE / f'src/_speedups/{name}_c.pxd',
                        stage / f'{name}_c.pxd')
        exts.append(Extension(f'flask_socketio._speedups.{name}_c',
                              [str(stage / f'{name}_c.py')]))
    try:
        return cythonize(exts, language_level=3, quiet=True, force=True,
                         compiler_directives={'boundscheck': False,
                                              'wraparound': False})
    except Exception as exc:
        if REQUIRE_EXTENSIONS:
            raise
        print(f'warning: Cython failed ({exc}); installing pure Python',
              file=sys.stderr)
        remove_stale_build()
        return []


class optional_build_ext(build_ext):
    """Fall back to pure Python when the C compiler fails."""

    def run(self):
        try:
            super().run()
        except Exception as exc:
            self._fallback(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._fallback(exc)

    def _fallback(self, exc):
        if REQUIRE_EXTENSIONS:
            raise exc
        print(f'warning: building the compiled core failed ({exc}); '
              f'installing pure Python', file=sys.stderr)
        remove_stale_build()


setup(ext_modules=extensions(), cmdclass={'build_ext': optional_build_ext})
