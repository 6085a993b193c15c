"""Calling a name that is a module of the scanned tree (a mistake, or a module shadowing a callable)
is an unknown call, never a crash of the scanner."""

from __future__ import annotations

import pytest

from foresight.security.code.scan import scan_python_tree


@pytest.mark.parametrize("tree", [
    {"a.py": "import b\nb()\n", "b.py": "x = 1\n"},
    {"pkg/a.py": "import pkg\npkg()\n", "pkg/__init__.py": ""},
    {"a.py": "from . import b\nb()\n", "b.py": ""},
])
def test_a_module_called_like_a_function_is_no_crash(tree: dict[str, str]) -> None:
    assert scan_python_tree(tree) == []


def test_a_class_of_another_module_is_still_constructed() -> None:
    tree = {
        "app.py": "import os\nimport store\nfrom flask import request\n\n@app.route('/q')\ndef q():\n"
                  "    s = store.Store(request.args['id'])\n    os.system(s.key)\n",
        "store.py": "class Store:\n    def __init__(self, key):\n        self.key = key\n",
    }
    assert any(f.rule_id for f in scan_python_tree(tree))
