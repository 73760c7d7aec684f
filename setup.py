"""Build the compiled kernels (the text parser, the mode projection and displacements, the linear tetrahedron
weights, the fit's design rows, the structure factor's Fourier densities); everything else lives in pyproject.toml."""
from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "trajmodes._fastparse",
            sources=["trajmodes/_fastparse.c"],
            extra_compile_args=["-O3"],
            depends=["trajmodes/_compat.h"],
        ),
        Extension(
            "trajmodes._projection",
            sources=["trajmodes/_projection.c"],
            extra_compile_args=["-O3"],
            depends=["trajmodes/_compat.h"],
        ),
        Extension(
            "trajmodes._tetrahedron",
            sources=["trajmodes/_tetrahedron.c"],
            extra_compile_args=["-O3"],
            depends=["trajmodes/_compat.h"],
        ),
        Extension(
            "trajmodes._density",
            sources=["trajmodes/_density.c"],
            extra_compile_args=["-O3"],
            depends=["trajmodes/_compat.h"],
        ),
        Extension(
            "trajmodes._design",
            sources=["trajmodes/_design.c"],
            extra_compile_args=["-O3"],
            depends=["trajmodes/_compat.h"],
        ),
    ]
)
