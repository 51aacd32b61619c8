"""Builds Sightline's C extensions: sightline_rwls (the row-weighting local search of planner.setcover.rwls) and
sightline_reduce (the k-cover reduction rules of planner.setcover.reduce)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("sightline_rwls", ["rwls.c"], extra_compile_args=["-O2"]),
                   Extension("sightline_reduce", ["reduce.c"], extra_compile_args=["-O2"])], py_modules=[])
