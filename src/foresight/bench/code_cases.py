"""Labelled Python programs for judging the code scanner: the case type and the categories scored.

A case is a small, self-contained web-service program (a Flask, FastAPI or Django view and what it
calls) that either carries one weakness of its category or is the safe twin of such a program (the
same shape, made safe by a sanitiser, a constant, a dead branch, an overwrite ...). Two corpora use
this type: one the scanner was developed on, one written apart from the scanner and only scored
(``code_corpus_heldout``), so the figures say how the scanner does on programs it was not shaped
around.

The categories are the fourteen a Python web-application benchmark commonly scores, each with the
CWE its findings must carry as their first tag; the score of a category is its true-positive rate
minus its false-positive rate, and the overall score is their mean (x 100).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATEGORIES", "CodeCase"]

#: category -> the CWE a finding of that category names first
CATEGORIES: dict[str, int] = {
    "cmdi": 78,  # OS command injection
    "codeinj": 94,  # code injection (eval / exec)
    "deserialization": 502,  # untrusted deserialisation (pickle, yaml, marshal ...)
    "hash": 328,  # weak hash (md5, sha1) for security
    "ldapi": 90,  # LDAP injection
    "pathtraver": 22,  # path traversal
    "redirect": 601,  # open redirect
    "securecookie": 614,  # cookie without the Secure flag
    "sqli": 89,  # SQL injection
    "trustbound": 501,  # trust boundary violation (untrusted data into the session)
    "weakrand": 330,  # weak random for security values
    "xpathi": 643,  # XPath injection
    "xss": 79,  # cross-site scripting
    "xxe": 611,  # XML external entities
}


@dataclass(frozen=True)
class CodeCase:
    """One labelled program: ``vulnerable`` says whether a finding of ``category`` is expected."""

    name: str
    category: str
    vulnerable: bool
    source: str

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"{self.name}: unknown category {self.category!r} (one of {sorted(CATEGORIES)})")

    @property
    def cwe(self) -> int:
        """The CWE a finding on this case must name first."""
        return CATEGORIES[self.category]
