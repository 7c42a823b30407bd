"""Packaging of the one namespace: the layer folders at the top of the repository are installed
as `askdesk.<layer>` (ARCHITECTURE.md, "Layout"); everything else is in pyproject.toml.

setup.py only because setuptools' declarative `packages.find` cannot remap folders into a
parent package; the list of layers is `askdesk._layout.LAYERS` (a test compares the two).
"""

from setuptools import find_packages, setup

LAYERS = ("bots", "core", "dashboard", "feedback", "retrieval", "styling")

package_dir = {"askdesk": "askdesk"} | {f"askdesk.{layer}": layer for layer in LAYERS}
packages = find_packages(include=["askdesk", "askdesk.*"]) + [
    f"askdesk.{found}"
    for found in find_packages(include=[*LAYERS, *(f"{layer}.*" for layer in LAYERS)])
]

setup(package_dir=package_dir, packages=packages)
