"""Point 9 (Chinese first): our zh catalog is complete, current and compiled.

`make translations-update` re-extracts and merges; `make translations` compiles. These tests fail when a
string was added to the sources without a Chinese translation, when a translation is fuzzy or empty,
when a placeholder was lost, when FAB gains a string its own zh catalog lacks, or when the compiled
catalog is older than the .po.
"""

import re
from pathlib import Path

import flask_appbuilder
import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
FAB = Path(flask_appbuilder.__file__).parent
FAB_PO = FAB / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
# The same keywords as `make translations-update`.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%[sdif]")
CJK = re.compile(r"[\u4e00-\u9fff]")
# Frames whose Chinese is punctuation only (the full-width colon).
LATIN_OK: set[str] = {"%(field)s: %(message)s"}


def _read_po(path):
    with open(path, "rb") as f:
        return read_po(f)


def _extract(root: Path, method_map, options_map) -> set[str]:
    ids = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(root), method_map, options_map, keywords=KEYWORDS
    ):
        ids.add(message if isinstance(message, str) else message[0])
    ids.discard("")
    return ids


def _our_sources() -> set[str]:
    with open(ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    return _extract(ROOT, method_map, options_map)


def _fab_sources() -> set[str]:
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    return _extract(FAB, method_map, {})


@pytest.fixture(scope="module")
def catalog():
    return _read_po(PO)


def _live(catalog):
    return [m for m in catalog if m.id]


def test_point9_every_message_has_a_chinese_translation(catalog):
    missing = [m.id for m in _live(catalog) if not m.string]
    assert not missing, f"untranslated in {PO.relative_to(ROOT)}: {missing}"


def test_point9_no_fuzzy_translation(catalog):
    fuzzy = [m.id for m in _live(catalog) if m.fuzzy]
    assert not fuzzy, f"fuzzy (dropped at compile): {fuzzy}"


def test_point9_translations_are_chinese_and_keep_placeholders(catalog):
    for message in _live(catalog):
        if message.id in LATIN_OK:
            continue
        assert CJK.search(message.string), f"not Chinese: {message.id!r} -> {message.string!r}"
        assert sorted(PLACEHOLDER.findall(message.id)) == sorted(
            PLACEHOLDER.findall(message.string)
        ), f"placeholders differ: {message.id!r} -> {message.string!r}"


def test_point9_catalog_is_not_stale(catalog):
    """Every msgid extracted from the current sources (per babel.cfg) is in the .po."""
    in_po = {m.id for m in _live(catalog)}
    stale = sorted(_our_sources() - in_po)
    assert not stale, f"run `make translations-update` and translate: {stale}"


def test_point9_extraction_reaches_every_package():
    """babel.cfg covers the python packages and the templates: a known string from each is found."""
    ids = _our_sources()
    for known in ("Organisation", "Account", "Audit log", "What you can do", "Add"):
        assert known in ids


def test_point9_fab_strings_missing_from_fabs_catalog_are_ours(catalog):
    """FAB's messages lacking a usable zh translation (missing, empty, fuzzy) are in our catalog."""
    fab_po = _read_po(FAB_PO)
    usable = {m.id for m in fab_po if m.id and m.string and not m.fuzzy}
    gaps = _fab_sources() - usable
    ours = {m.id for m in _live(catalog) if m.string and not m.fuzzy}
    assert not sorted(gaps - ours), "add these to app/fab_strings.py and translate them"
    assert {"Add", "Edit", "Delete", "Show"} <= gaps  # the check sees FAB's gaps at all


def test_point9_compiled_catalog_matches_the_po(catalog):
    assert MO.exists(), "run `make translations`"
    with open(MO, "rb") as f:
        compiled = {m.id: m.string for m in read_mo(f) if m.id}
    expected = {m.id: m.string for m in _live(catalog)}
    assert compiled == expected, "the .mo is older than the .po: run `make translations`"


# Flask-AppBuilder's own two msgids for one filter, both translated 开头是 by its catalog.
ONE_TERM_SEVERAL_SOURCES_OK = {"开头是"}


def test_issue11_each_chinese_term_has_one_english_source():
    """docs/glossary.md: one English msgid per Chinese term (工作单位 was Unit, Employer and
    Work unit); two different things get two different Chinese words."""
    sources: dict[str, set[str]] = {}
    for message in _read_po(PO):
        if message.id and message.string and isinstance(message.id, str):
            sources.setdefault(message.string, set()).add(message.id)
    several = {
        zh: sorted(ids)
        for zh, ids in sources.items()
        if len(ids) > 1 and zh not in ONE_TERM_SEVERAL_SOURCES_OK
    }
    assert several == {}


# ---------------------------------------------------------------- issue 15 point 3


def english_left(translations: dict) -> list[str]:
    """msgids whose Chinese is missing or English (no CJK character): shown to users as is."""
    return sorted(
        mid
        for mid, text in translations.items()
        if mid not in LATIN_OK and not (isinstance(text, str) and CJK.search(text))
    )


def _effective(catalog) -> dict:
    """What a zh page shows for each msgid of ours and of FAB's: ours first, then FAB's."""
    fab = {m.id: m.string for m in _read_po(FAB_PO) if m.id and m.string and not m.fuzzy}
    ours = {m.id: m.string for m in _live(catalog) if m.string and not m.fuzzy}
    ids = {i for i in _fab_sources() | _our_sources() if isinstance(i, str)}
    return {i: ours.get(i) or fab.get(i) for i in ids}


def test_issue15_no_english_msgid_is_left_untranslated_ours_or_fabs(catalog):
    """Every string a zh page can show, from our sources or FAB's, has Chinese: an English
    msgid left as is (FAB's catalog translating one by itself, a new string of ours) fails."""
    assert english_left(_effective(catalog)) == []


def test_issue15_the_english_check_can_fail():
    assert english_left({"Save": "保存", "Add": "Add", "Show": "", "Edit": None}) == [
        "Add",
        "Edit",
        "Show",
    ]
