"""Offline stand-in for the get-pip script that ansible-test bootstraps its virtual environments with.

`ansible-test sanity` runs most tests in virtual environments it creates without pip, then puts pip
in them by running a get-pip script that it downloads from a host other than the package index. On
a machine that reaches only the package index that download fails, but ansible-test uses a cached
copy when one exists at ~/.ansible/test/cache/get_pip_<version>.py. tests/sanity/run.sh places this
file there (under a private HOME) so the download is never attempted.

ansible-test runs it with the environment's Python and pip-install-style arguments: the pinned pip
requirement (for example pip==24.2), --disable-pip-version-check, and the get-pip options
--no-setuptools and --no-wheel. This script installs the pip that ships with Python (ensurepip, no
network), lets that pip install the requested release from the package index, and then removes
setuptools when asked to, as the real script would not have installed it.
"""

import subprocess
import sys

GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")


def main():
    args = sys.argv[1:]
    pip_args = [arg for arg in args if arg not in GET_PIP_ONLY]
    # ensurepip runs in a child process: it clears the PIP_* settings of the process it runs in,
    # and the install below needs them (certificate bundle, index) intact.
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
    subprocess.check_call([sys.executable, "-m", "pip", "install", *pip_args])
    if "--no-setuptools" in args:
        subprocess.check_call([sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", "setuptools"])


if __name__ == "__main__":
    main()
