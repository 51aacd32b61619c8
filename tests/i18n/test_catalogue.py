"""The catalogues are complete: every template string is marked, and zh_CN translates every extracted msgid."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from babel.messages.pofile import read_po

from i18n import CATALOGUE_DIRS, TRANSLATIONS
from tests.i18n.unmarked import unmarked_in, unmarked_templates

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDERS = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdfr]")


def test_every_template_string_is_marked_for_translation():
    found = unmarked_templates()
    assert not found, "mark these with {{ _('...') }} or {% trans %}:\n" + "\n".join(map(str, found))


def test_the_checker_finds_text_attributes_and_literals_but_not_code():
    source = """<h1>Hello world</h1><p title="Some help">{{ _('Marked text') }}</p>
<button>{{ 'Edit venue' if name else '' }}</button><code>heading_deg</code><a href="{{ url_for('a.b') }}">CSV</a>
{% trans %}A whole <b>sentence</b>{% endtrans %}<input placeholder="{{ _('Search') }}">"""
    found = {u.text for u in unmarked_in(source, "sample.html")}
    assert found == {"Hello world", "title=Some help", "Edit venue"}, found


def test_the_zh_cn_catalogue_translates_every_extracted_msgid(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(["make", "-s", "i18n-extract", f"POT={pot}"], cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as fh:
        template = read_po(fh)
    with (TRANSLATIONS / CATALOGUE_DIRS["zh_CN"] / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalogue = read_po(fh, locale="zh_Hans_CN")
    problems = []
    for message in template:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        entry = catalogue.get(message.id, message.context)
        strings = (entry.string if isinstance(entry.string, tuple) else (entry.string,)) if entry else ("",)
        if entry is None or not all(strings):
            problems.append(f"untranslated: {key!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {key!r}")
        else:
            wanted = set(PLACEHOLDERS.findall(key))
            for text in strings:
                if set(PLACEHOLDERS.findall(text)) != wanted:
                    problems.append(f"placeholders differ: {key!r} -> {text!r}")
    assert not problems, "run `make i18n-update`, then translate in translations/zh_Hans_CN:\n" + "\n".join(problems)
