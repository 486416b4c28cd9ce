"""Write the Chinese translations of web/i18n/zh.tsv into the .po file, then compile.

Collects the strings first (Django's makemessages over web/, needs GNU gettext), then
fills and compiles (docs/web.md, "Translations"):
    .venv/bin/python -m web.i18n.fill
Every msgid must have a line in zh.tsv (English TAB Chinese; plurals: the singular's
key, Chinese has one form); a missing one is listed and the command exits 1, so an
untranslated string cannot reach a page unnoticed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PO = HERE.parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
TSV = HERE / "zh.tsv"

_STR = re.compile(r'^(msgid|msgid_plural|msgstr(?:\[\d+\])?) (".*")$')


def table(path: Path = TSV) -> dict[str, str]:
    """English -> Chinese from the TSV (a literal backslash-n stays as written)."""
    out = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        en, sep, zh = line.partition("\t")
        if not sep or not zh:
            raise SystemExit(f"{path}:{n}: expected English<TAB>Chinese")
        out[en] = zh
    return out


def _unquote(parts: list[str]) -> str:
    return "".join(p[1:-1] for p in parts).replace('\\"', '"')


def _quote(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def fill(po_text: str, zh: dict[str, str]) -> tuple[str, list[str]]:
    """The .po text with every msgstr set from zh; and the msgids zh lacks."""
    blocks, missing = po_text.split("\n\n"), []
    out = []
    for block in blocks:
        lines = block.splitlines()
        fields: dict[str, list[str]] = {}
        order: list[str] = []
        key = None
        for ln in lines:
            m = _STR.match(ln)
            if m:
                key = m.group(1)
                fields[key] = [m.group(2)]
                order.append(key)
            elif ln.startswith('"') and key:
                fields[key].append(ln)
        msgid = _unquote(fields.get("msgid", ['""']))
        if not msgid:  # the header
            out.append(block)
            continue
        text = zh.get(msgid)
        if text is None:
            missing.append(msgid)
            out.append(block)
            continue
        # msgmerge's guesses ("#, fuzzy" and the "#|" msgid it guessed from) are
        # replaced by the table's word; msgfmt would leave a fuzzy entry out
        head = [ln for ln in lines if ln.startswith("#") and not ln.startswith("#|")]
        head = [re.sub(r",? fuzzy", "", ln) for ln in head]
        head = [ln for ln in head if ln.strip() != "#,"]
        body = [f"msgid {_quote(msgid)}"]
        if "msgid_plural" in fields:
            body += [f"msgid_plural {_quote(_unquote(fields['msgid_plural']))}"]
            body += [f"msgstr[0] {_quote(text)}"]
        else:
            body += [f"msgstr {_quote(text)}"]
        out.append("\n".join(head + body))
    return "\n\n".join(out), missing


#: header fields makemessages leaves at their template values
HEADER = {
    "Project-Id-Version": "pvledger",
    "PO-Revision-Date": "2026-12-01 00:00+0000",
    "Last-Translator": "pvledger",
    "Language-Team": "pvledger",
}


def header(text: str, language: str) -> str:
    """The .po text with its header fields set (msgfmt --check warns otherwise)."""
    # a fuzzy header is left out of the .mo, and with it the charset
    text = text.replace('#, fuzzy\nmsgid ""\nmsgstr ""', 'msgid ""\nmsgstr ""', 1)
    text = re.sub(
        r"\A(#[^\n]*\n)+", "# pvledger web pages. Source strings in English.\n", text, count=1
    )
    for k, v in {**HEADER, "Language": language}.items():
        text = re.sub(rf'"{k}: [^"]*"', f'"{k}: {v}\\\\n"', text, count=1)
    return text


def collect() -> None:
    """Django's makemessages over web/ (templates and Python) for zh_Hans and en."""
    import django
    from django.conf import settings
    from django.core.management import call_command

    if not settings.configured:
        settings.configure(USE_I18N=True, LOCALE_PATHS=[str(HERE.parent / "locale")])
        django.setup()
    cwd = os.getcwd()
    os.chdir(HERE.parent)
    try:
        call_command(
            "makemessages",
            locale=["zh_Hans", "en"],
            ignore_patterns=["migrations/*", "i18n/*"],
            no_obsolete=True,
            verbosity=0,
        )
    finally:
        os.chdir(cwd)


def main() -> int:
    """Collect, fill zh_Hans from the table, compile both; 1 when a string is missing."""
    collect()
    text = header(PO.read_text(encoding="utf-8"), "zh_Hans")
    # Chinese has one plural form
    text = re.sub(r'"Plural-Forms: [^"]*"', r'"Plural-Forms: nplurals=1; plural=0;\\n"', text)
    filled, missing = fill(text, table())
    PO.write_text(filled if filled.endswith("\n") else filled + "\n", encoding="utf-8")
    en = PO.parents[2] / "en" / "LC_MESSAGES" / "django.po"
    en.write_text(header(en.read_text(encoding="utf-8"), "en"), encoding="utf-8")
    for po in sorted((HERE.parent / "locale").glob("*/LC_MESSAGES/django.po")):
        subprocess.run(["msgfmt", "--check", "-o", str(po.with_suffix(".mo")), str(po)], check=True)
    for m in missing:
        print(f"{TSV.name}: no translation for {m!r}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
