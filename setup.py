"""Build script.

Everything declarative lives in pyproject.toml; this file exists so that the
compiled core (src/_speedups/) can be built as optional extension modules.
"""
from setuptools import setup

setup()
