"""The 一件事 catalogue matches the plan's "13+1+7+N" arrangement and is well formed."""

from __future__ import annotations

import re
from collections import Counter

import msgspec
import pytest

from seeds.catalogue import Catalogue, ItemSeed, load_catalogue, load_items

# The plan (卫政发〔2024〕23号) names 13 national items, 高效办证, 7 regional items and
# 4 local ones. 高效办证 is a 自治区 task, so it counts as regional by scope.
EXPECTED_NAMES: dict[str, list[str]] = {
    "national": [
        "新生儿出生",
        "教育入学",
        "社会保障卡居民服务",
        "残疾人服务",
        "退休",
        "企业信息变更",
        "开办运输企业",
        "开办餐饮店",
        "水电气网联合报装",
        "信用修复",
        "企业上市合法合规信息核查",
        "企业破产信息核查",
        "企业注销登记",
    ],
    "certificate": ["高效办证"],
    "regional": [
        "二手房转移登记及水电气联动过户",
        "公民婚育",
        "灵活就业",
        "军人退役",
        "公民身后",
        "企业开办",
        "企业员工录用",
    ],
    "local": ["大数据项目全流程服务", "开办党支部领办合作社", "枸杞地理标志使用办理", "道路货物运输"],
}
ITEM_FIELDS = set(ItemSeed.__struct_fields__)


@pytest.fixture(scope="module")
def items() -> list[ItemSeed]:
    return load_items()


def test_counts_per_group(items: list[ItemSeed]) -> None:
    assert Counter(i.group for i in items) == {"national": 13, "certificate": 1, "regional": 7, "local": 4}


def test_counts_per_scope(items: list[ItemSeed]) -> None:
    assert Counter(i.scope for i in items) == {"national": 13, "regional": 8, "local": 4}


def test_names_are_the_documents_in_its_order(items: list[ItemSeed]) -> None:
    for group, names in EXPECTED_NAMES.items():
        assert [i.name for i in items if i.group == group] == names


def test_lifecycles_follow_the_plan(items: list[ItemSeed]) -> None:
    counts = Counter((i.group, i.lifecycle) for i in items)
    assert counts[("national", "individual")] == 5
    assert counts[("national", "enterprise")] == 8
    assert counts[("regional", "individual")] == 5
    assert counts[("regional", "enterprise")] == 2


def test_local_items_belong_to_their_units(items: list[ItemSeed]) -> None:
    assert [i.locality for i in items if i.scope == "local"] == ["中卫市", "沙坡头区", "中宁县", "海原县"]


def test_codes_unique_and_well_formed(items: list[ItemSeed]) -> None:
    codes = [i.code for i in items]
    assert len(set(codes)) == len(codes)
    prefix = {"national": "N", "regional": "R", "certificate": "C", "local": "L"}
    for i in items:
        assert re.fullmatch(r"[NRLC]\d{2}-[a-z0-9]+(-[a-z0-9]+)*", i.code), i.code
        assert i.code[0] == prefix[i.group], i.code
        assert i.code.isascii()


@pytest.mark.parametrize("item", load_items(), ids=lambda i: i.code)
def test_item_is_complete(item: ItemSeed) -> None:
    assert item.scope in {"national", "regional", "local"}
    assert item.lifecycle in {"individual", "enterprise"}
    assert item.promised_days > 0
    assert item.lead_departments and all(item.lead_departments)
    assert 3 <= len(item.materials) <= 6
    material_codes = [m.code for m in item.materials]
    assert len(set(material_codes)) == len(material_codes)
    assert set(item.demo_fields) <= ITEM_FIELDS
    # the plan gives no materials or time limits, so those are always demo values
    assert {"materials", "promised_days"} <= set(item.demo_fields)


def test_some_materials_are_deferrable(items: list[ItemSeed]) -> None:
    flags = [m.deferrable for i in items for m in i.materials]
    assert any(flags) and not all(flags)


def test_catalogue_names_source_and_demo_values() -> None:
    catalogue = load_catalogue()
    assert "高效办成一件事" in catalogue.source
    assert "卫政发〔2024〕23号" in catalogue.source
    assert "demo" in catalogue.note


def test_items_are_frozen(items: list[ItemSeed]) -> None:
    with pytest.raises(AttributeError):
        items[0].promised_days = 1  # type: ignore[misc]


def test_load_items_returns_a_fresh_list() -> None:
    first = load_items()
    first.clear()
    assert len(load_items()) == 25


def _catalogue_json(**item_changes: object) -> bytes:
    item = msgspec.to_builtins(load_items()[0]) | item_changes
    return msgspec.json.encode({"source": "s", "note": "n", "items": [item]})


@pytest.mark.parametrize(
    "changes",
    [
        {"promised_days": 0},
        {"materials": []},
        {"scope": "provincial"},
        {"lifecycle": "family"},
        {"code": "N1-bad"},
        {"demo_fields": ["no_such_field"]},
        {"materials": [{"code": "a", "name": "甲"}, {"code": "a", "name": "乙"}]},
    ],
)
def test_decoder_rejects_bad_items(changes: dict[str, object]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(_catalogue_json(**changes), type=Catalogue)


def test_decoder_rejects_repeated_item_codes() -> None:
    item = msgspec.to_builtins(load_items()[0])
    data = msgspec.json.encode({"source": "s", "note": "n", "items": [item, item]})
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(data, type=Catalogue)
