"""Maps the top-level folders onto the ``wingspan`` import package.

pyproject.toml holds the metadata; only the package list lives here, because it
is derived from the folders rather than written out by hand.
"""

from setuptools import find_packages, setup

PACKAGE_DIRS = {
    "wingspan": "sdk",
    "wingspan.core": "core",
    "wingspan.server": "server",
    "wingspan.protos": "protos",
    "wingspan.cli": "cli",
}


def _packages() -> list[str]:
    found = []
    for package, folder in PACKAGE_DIRS.items():
        found.append(package)
        found += [f"{package}.{sub}" for sub in find_packages(folder)]
    return found


setup(
    package_dir=PACKAGE_DIRS,
    packages=_packages(),
    package_data={
        "": ["py.typed", "*.json", "*.html", "*.js", "*.css"],
        "wingspan.protos": ["wingspan/v1/*.proto", "snapshot.json"],
        "wingspan.server.db.migrations": ["script.py.mako"],
    },
    include_package_data=True,
)
