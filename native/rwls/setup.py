"""Builds the sightline_rwls C extension (the row-weighting local search kernel of planner.setcover.rwls)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("sightline_rwls", ["rwls.c"], extra_compile_args=["-O2"])], py_modules=[])
