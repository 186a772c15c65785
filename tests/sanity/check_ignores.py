"""Refuse an ansible-test ignore line that does not say why it is there.

    python check_ignores.py FILE...

Each line that is neither blank nor a comment must read `<path> <test>[:<code>] # reason: <why>`.
ansible-test itself drops the comment, so without this check a bare ignore line would pass. Prints
every offending line with its file and number, and exits 1 when there is one.
"""

import re
import sys

LINE = re.compile(r"^\S+ \S+ +# reason: *\S.*$")


def offending(path):
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            text = line.rstrip("\n")
            if text.strip() and not text.lstrip().startswith("#") and not LINE.match(text):
                yield number, text


def main(paths):
    bad = [(path, number, text) for path in paths for number, text in offending(path)]
    for path, number, text in bad:
        print(f"{path}:{number}: an ignore line needs '# reason: <why>' after the test: {text}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
