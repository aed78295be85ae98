"""用户手册 (第十四条): the text, one chapter per role, and the screenshots of its steps.

The text is data (`app/data/manual.zh.toml`); the screenshots are taken by the acceptance test
(tests/browser/test_class_lifecycle.py, one per Annex-1 step) and published with `publish` into
the git-ignored ``MANUAL_DIR`` (default ``instance/manual/``; `make manual`). A step shows the
picture whose ``step`` in the published ``steps.json`` is the step's id; a step without one shows
a placeholder. Publishing replaces the whole folder, so a step the test no longer photographs
loses its picture instead of keeping an old screen.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from security.permissions import MENU_TABLE

TEXT = Path(__file__).resolve().parents[1] / "data" / "manual.zh.toml"
INDEX = "steps.json"
SHOT_NAME = re.compile(r"^[\w.-]+\.png$")  # what `publish` writes: no folder, no traversal


@dataclass(frozen=True)
class Step:
    id: str  # the lifecycle test's step ("1a", "17b"): the screenshot's key
    row: str  # Annex-1 row ("1"…"23", "5'")
    title: str
    menu: str | None  # "Category/Entry" of MENU_TABLE
    where: str | None  # a place outside the menu
    deadline: str | None
    do: tuple[str, ...]  # paragraphs


@dataclass(frozen=True)
class Chapter:
    kind: str  # role kind (models.user)
    intro: tuple[str, ...]
    steps: tuple[Step, ...]
    pages: tuple[Step, ...]  # the role's daily pages (no row, no deadline)


def _paragraphs(text: str | None) -> tuple[str, ...]:
    return tuple(line.strip() for line in (text or "").splitlines() if line.strip())


def _step(raw: dict) -> Step:
    return Step(
        id=str(raw.get("id", "")),
        row=str(raw.get("row", "")),
        title=raw["title"],
        menu=raw.get("menu"),
        where=raw.get("where"),
        deadline=raw.get("deadline"),
        do=_paragraphs(raw.get("do")),
    )


@cache
def chapters() -> tuple[Chapter, ...]:
    """Every role's chapter, in the file's order."""
    with TEXT.open("rb") as f:
        data = tomllib.load(f)
    return tuple(
        Chapter(
            kind=role["kind"],
            intro=_paragraphs(role.get("intro")),
            steps=tuple(_step(s) for s in role.get("step", ())),
            pages=tuple(_step(p) for p in role.get("page", ())),
        )
        for role in data["role"]
    )


def chapter(kind: str) -> Chapter | None:
    return next((c for c in chapters() if c.kind == kind), None)


def ordered(first: str | None) -> list[Chapter]:
    """The chapters with the reader's own role first."""
    return sorted(chapters(), key=lambda c: c.kind != first)


def menu_entry(path: str | None):
    """The (category, entry) of MENU_TABLE a step's ``menu`` names, or None."""
    if not path:
        return None
    category_name, _sep, entry_name = path.partition("/")
    for category in MENU_TABLE:
        for entry in category.entries:
            if category.name == category_name and entry.name == entry_name:
                return category, entry
    return None


def menu_label(path: str | None) -> str | None:
    """Where a step is, as the navbar shows it: 讲师培训 › 开班申请."""
    found = menu_entry(path)
    return f"{found[0].label} › {found[1].label}" if found else None


# ---------------------------------------------------------------- the screenshots


@dataclass(frozen=True)
class Shots:
    files: dict  # step id -> file name in MANUAL_DIR
    built_at: datetime | None  # when the acceptance test published them


def shots(folder: str) -> Shots:
    """The published screenshots (none when the test has not run here)."""
    index = Path(folder) / INDEX
    try:
        entries = json.loads(index.read_text(encoding="utf-8"))
        built = datetime.fromtimestamp(index.stat().st_mtime)
    except (OSError, ValueError):
        return Shots({}, None)
    files = {}
    for entry in entries if isinstance(entries, list) else ():
        name = os.path.basename(str(entry.get("screenshot", "")))
        if SHOT_NAME.match(name) and (Path(folder) / name).is_file():
            files.setdefault(str(entry.get("step")), name)
    return Shots(files, built)


def shot_path(folder: str, name: str) -> Path | None:
    """A published screenshot's file, only if the index names it (anything else: None)."""
    if name not in shots(folder).files.values():
        return None
    return Path(folder) / name


def publish(index: list[dict], source: str | os.PathLike, folder: str | os.PathLike) -> Path:
    """Makes ``folder`` hold exactly the screenshots of ``index`` (the lifecycle test's
    steps.json entries, ``screenshot`` relative to ``source``) and their index.

    Built beside the folder and swapped in, so a reader never sees half a manual and a step no
    longer photographed leaves no old picture behind."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=".manual-", dir=folder.parent))
    published = []
    for entry in index:
        shot = Path(source) / entry["screenshot"]
        name = shot.name
        if not SHOT_NAME.match(name):
            raise ValueError(f"not a screenshot name: {name}")
        shutil.copyfile(shot, fresh / name)
        published.append({**entry, "screenshot": name})
    (fresh / INDEX).write_text(json.dumps(published, ensure_ascii=False, indent=1), "utf-8")
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    fresh.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder
