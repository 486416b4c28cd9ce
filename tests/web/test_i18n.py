"""Every string of the web pages has its Chinese, and the committed .mo says the same."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

from tests.conftest import ROOT

LOCALE = ROOT / "web" / "locale"


def entries(po: Path) -> list[tuple[str, str]]:
    """(msgid, first msgstr) of every entry but the header."""
    out = []
    for block in po.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            m = re.match(r'^(msgid|msgid_plural|msgstr(?:\[0\])?) "(.*)"$', line)
            if m:
                key = m.group(1).replace("[0]", "")
                fields[key] = m.group(2)
            elif line.startswith('"') and key:
                fields[key] += line[1:-1]
        if fields.get("msgid"):
            out.append((fields["msgid"], fields.get("msgstr", "")))
    return out


def test_every_string_is_translated_to_chinese() -> None:
    got = entries(LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po")
    assert len(got) > 50
    assert [m for m, s in got if not s] == []
    assert not any(
        "fuzzy" in line
        for line in (LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po").read_text().splitlines()
        if line.startswith("#,")
    )


def test_compiled_catalogue_matches_the_po_file() -> None:
    with open(LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.mo", "rb") as f:
        mo = gettext.GNUTranslations(f)
    for msgid, msgstr in entries(LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"):
        unescaped = msgid.replace('\\"', '"')
        assert mo.gettext(unescaped) == msgstr.replace('\\"', '"'), msgid
