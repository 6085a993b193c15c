"""The shell of Foresight's self-contained HTML reports (demo, drift): one look, plotly.js inlined.

Reports are opened from disk, often on a machine without network access, so plotly.js is
embedded rather than linked from a CDN.
"""

from __future__ import annotations

import html

from plotly.offline import get_plotlyjs

__all__ = ["standalone_page"]

_CSS = """body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #f3f3f3; }
"""


def standalone_page(title: str, body: str, extra_css: str = "") -> str:
    """A complete page: ``title`` (escaped) as its title and first heading, then ``body`` (HTML).

    >>> page = standalone_page("a < b", "<p>hi</p>")
    >>> "<h1>a &lt; b</h1>" in page and page.rstrip().endswith("</html>")
    True
    """
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<script>{get_plotlyjs()}</script>
<style>
{_CSS}{extra_css}
</style></head><body>
<h1>{html.escape(title)}</h1>
{body}
</body></html>
"""
