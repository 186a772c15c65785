"""Refuse an ansible-test ignore line that does not say why it is there.

    python check_ignores.py FILE...

Each line that is neither blank nor a comment must read `<path> <test>[:<code>] # reason: <why>`.
ansible-test itself drops the comment, so without this check a bare ignore line would pass. Prints
every offending line with its file and number, and every file it cannot read, and exits 1 when there
is one. With no file (the ignore file is optional) there is nothing to refuse.
"""

import re
import sys

LINE = re.compile(r"^\S+ \S+ +# reason: *\S.*$")


def offending(path):
    """(number, text) of each line without a reason. Lines are split as ansible-test splits them (every
    str.splitlines() boundary, form feed and U+2028 among them), so none hides behind another's reason.
    Blank and comment lines are left to ansible-test's own `ignores` test, which refuses them."""
    with open(path, encoding="utf-8") as handle:
        for number, text in enumerate(handle.read().splitlines(), 1):
            if text.strip() and not text.lstrip().startswith("#") and not LINE.match(text):
                yield number, text


def main(paths):
    bad, unreadable = [], []
    for path in paths:
        try:
            bad.extend((path, number, text) for number, text in offending(path))
        except (OSError, UnicodeDecodeError) as exc:
            unreadable.append(f"{path}: cannot be read as UTF-8 text: {exc}")
    for path, number, text in bad:
        print(f"{path}:{number}: an ignore line needs '# reason: <why>' after the test: {text!r}", file=sys.stderr)
    for problem in unreadable:
        print(problem, file=sys.stderr)
    return 1 if bad or unreadable else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
