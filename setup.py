"""Build the compiled text parser; everything else lives in pyproject.toml."""
from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "trajmodes._fastparse",
            sources=["trajmodes/_fastparse.c"],
            extra_compile_args=["-O3"],
        )
    ]
)
