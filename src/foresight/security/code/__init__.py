"""The Python code scanner: taint analysis over the AST, from web-request data to injection sinks.

A pure core: source text in, :class:`~foresight.security.findings.Finding` values out (rules
``FSC001``-``FSC015``, :mod:`.rules`). See :mod:`.interpreter` for how data is followed and
:mod:`.parsing` for how newer Python syntax is read on Python 3.11.
"""

from foresight.security.code.rules import BY_CATEGORY
from foresight.security.code.scan import scan_python_source, scan_python_tree

__all__ = ["BY_CATEGORY", "scan_python_source", "scan_python_tree"]
