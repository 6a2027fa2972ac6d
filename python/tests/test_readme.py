"""The README examples run: the Python block of the repository README and the first one
of python/README.md (the auto_LiRPA example needs torch; tests/engine/lirpa_e2e.py makes the same calls)."""

import os
import re

from conftest import REPO


def blocks(path):
    return re.findall(r"```python\n(.*?)```", open(path, encoding="utf-8").read(), re.S)


def test_readme_examples_run():
    for path in (os.path.join(REPO, "README.md"), os.path.join(REPO, "python", "README.md")):
        code = blocks(path)[0]
        exec(compile(code, path, "exec"), {})
