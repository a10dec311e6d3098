"""Masking rules, property-based (hypothesis): each rule hides what it says it hides and
keeps what it says it keeps; the per-grant levels (masked, raw, pseudonym, suppressed)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from govshare.audit.keys import PlatformKeys
from govshare.delivery.masking import (
    compile_plan,
    key_ref,
    level_of,
    preview,
    pseudonym_key,
    pseudonymise,
)
from govshare.delivery.model import GrantedItem, MaskLevel
from govshare.kernel import masking as kernel_masking
from govshare.kernel.masking import (
    _DISTRICT_END,
    _DISTRICT_ENDS,
    ADDRESS_FILL,
    COMPOUND_SURNAMES,
    DISTRICT_HEAD,
    _district_prefixes,
    mask,
    mask_details,
)

DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=1)
HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
SURNAMES_1 = st.sampled_from(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"))


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


id_cards = st.builds(lambda a, b, c: a + b + c, digits(6), digits(8), digits(3)).flatmap(
    lambda first17: st.sampled_from("0123456789X").map(lambda c: first17 + c)
)


@pytest.mark.req("SQ-26")
@given(id_cards)
def test_id_card_keeps_first_six_and_last_four(value: str) -> None:
    out = mask(value, "id_card")
    assert len(out) == len(value) == 18
    assert out[:6] == value[:6] and out[-4:] == value[-4:]
    assert out[6:14] == "*" * 8  # the birth date and sequence never show


@given(st.text(max_size=10))
def test_short_id_values_are_fully_hidden(value: str) -> None:
    assert set(mask(value, "id_card")) <= {"*"}


@pytest.mark.req("SQ-26")
@given(SURNAMES_1, st.text(HAN, min_size=1, max_size=3))
def test_name_keeps_the_surname_only(surname: str, given_name: str) -> None:
    out = mask(surname + given_name, "name")
    assert out == surname + "*" * len(given_name)


@given(st.sampled_from(sorted(COMPOUND_SURNAMES)), st.text(HAN, min_size=1, max_size=2))
def test_compound_surnames_are_kept_whole(surname: str, given_name: str) -> None:
    out = mask(surname + given_name, "name")
    assert out == surname + "*" * len(given_name)


@given(st.text(HAN, min_size=1, max_size=1))
def test_a_single_character_name_is_hidden(value: str) -> None:
    assert mask(value, "name") == "*"


@given(st.sampled_from(["13", "15", "18", "19"]), digits(9))
def test_mobile_keeps_first_three_and_last_four(prefix: str, rest: str) -> None:
    value = prefix + rest
    out = mask(value, "mobile")
    assert out == value[:3] + "****" + value[-4:]


@given(st.integers(min_value=16, max_value=19).flatmap(digits))
def test_bank_card_keeps_first_six_and_last_four(value: str) -> None:
    out = mask(value, "bank_card")
    assert out[:6] == value[:6] and out[-4:] == value[-4:]
    assert set(out[6:-4]) == {"*"} and len(out) == len(value)


PROVINCES = st.sampled_from(["江苏省", "湖北省", "山西省", "河南省", "新疆维吾尔自治区"])
CITIES = st.sampled_from(["宿迁市", "武汉市", "朔州市", "南阳市", "乌鲁木齐市"])
DISTRICTS = st.sampled_from(["宿城区", "洪山区", "朔城区", "内乡县", "天山区", "土默特左旗"])
STREETS = st.builds(
    lambda road, n, extra: f"{road}路{n}号{extra}",
    st.text(HAN.filter(lambda c: c not in "区县旗市"), min_size=1, max_size=4),
    st.integers(min_value=1, max_value=999),
    st.sampled_from(["", "3栋2单元501室", "幸福小区", "人民市场旁"]),
)


@pytest.mark.req("SQ-26")
@given(PROVINCES, CITIES, DISTRICTS, STREETS)
def test_address_keeps_down_to_the_district(
    province: str, city: str, district: str, street: str
) -> None:
    head = province + city + district
    out = mask(head + street, "address")
    assert out == head + ADDRESS_FILL
    assert street not in out


@given(PROVINCES, st.sampled_from(["无锡市宜兴市", "南阳市邓州市"]), STREETS)
def test_address_in_a_county_level_city_keeps_that_city(
    province: str, cities: str, street: str
) -> None:
    assert mask(province + cities + street, "address") == province + cities + ADDRESS_FILL


@given(STREETS)
def test_address_without_divisions_shows_nothing(street: str) -> None:
    assert mask(street, "address") == ADDRESS_FILL


@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._", min_size=1, max_size=20),
    st.sampled_from(["example.cn", "gov.cn", "163.com"]),
)
def test_email_keeps_first_character_and_domain(local: str, domain: str) -> None:
    out = mask(f"{local}@{domain}", "email")
    assert out == f"{local[0]}***@{domain}"
    assert local[1:] == "" or local not in out.split("@")[0]


@given(st.text(max_size=30))
def test_secret_never_shows(value: str) -> None:
    assert mask(value, "secret") == "******"


@given(st.text(max_size=30))
def test_mask_details_masks_known_keys(value: str) -> None:
    got = mask_details({"id_card": value, "password": value, "inner": {"mobile": value}})
    assert got["password"] == "******"
    if value:
        assert got["id_card"] == mask(value, "id_card")
        assert got["inner"]["mobile"] == mask(value, "mobile")


# Levels -------------------------------------------------------------------------------
KEYS = PlatformKeys(Ed25519PrivateKey.generate())


def _plan(level: MaskLevel, department: str = "dept-a") -> dict[str, object]:
    items = [
        GrantedItem("name", level, "name"),
        GrantedItem("id_card", level, "id_card"),
        GrantedItem("born", level, "none"),
        GrantedItem("income", level, "none"),
    ]
    plan = compile_plan(items, pseudonym_key=pseudonym_key(KEYS, department))
    row = {
        "name": "张三丰",
        "id_card": "321302199003071011",
        "born": date(1990, 3, 7),
        "income": Decimal("8000.50"),
        "secret_extra": "not granted",
    }
    return plan.apply(row)


@pytest.mark.req("SQ-26")
def test_masked_level_masks_sensitive_items_and_drops_ungranted_ones() -> None:
    assert _plan(MaskLevel.MASKED) == {
        "name": "张**",
        "id_card": "321302********1011",
        "born": "1990-03-07",
        "income": "8000.50",
    }


def test_raw_level_returns_values_as_json() -> None:
    out = _plan(MaskLevel.RAW)
    assert out["name"] == "张三丰" and out["id_card"] == "321302199003071011"
    assert "secret_extra" not in out


def test_suppressed_level_returns_nothing() -> None:
    assert set(_plan(MaskLevel.SUPPRESSED).values()) == {None}


@given(st.text(min_size=1, max_size=40))
def test_pseudonyms_are_stable_per_consumer_and_differ_between_consumers(value: str) -> None:
    a, b = pseudonym_key(KEYS, "dept-a"), pseudonym_key(KEYS, "dept-b")
    p = pseudonymise(a, value)
    assert p == pseudonymise(a, value) and p != pseudonymise(b, value)
    assert p is not None and len(p) == 24 and all(c in "0123456789abcdef" for c in p)


def test_pseudonym_plan_hides_values() -> None:
    out = _plan(MaskLevel.PSEUDONYM)
    assert out["name"] == pseudonymise(pseudonym_key(KEYS, "dept-a"), "张三丰")
    assert "张" not in str(out["name"]) and out != _plan(MaskLevel.PSEUDONYM, "dept-b")


def test_unknown_levels_fail_closed_and_preview_masks() -> None:
    assert level_of("whatever") is MaskLevel.SUPPRESSED and level_of(None) is MaskLevel.MASKED
    assert preview("13812345678", "mobile") == "138****5678"
    assert key_ref(KEYS, "x") == key_ref(KEYS, "x") != key_ref(KEYS, "y")


# The district of an address, looked for first in its remembered head ------------------
ADDRESS_LIKE = st.text(
    alphabet=st.sampled_from("自治行政地社小区县旗超城市场省江苏宿迁路号"), max_size=30
)


def _searched(s: str) -> str | None:
    """The address down to its district, searched in the whole address (no head)."""
    found = _DISTRICT_END.search(s)
    return None if found is None else s[: found.end()]


@given(st.lists(ADDRESS_LIKE, min_size=1, max_size=12))
def test_the_district_found_in_the_head_is_the_one_in_the_whole_address(
    texts: list[str],
) -> None:
    # twice over: once learning each head, once remembering it
    for s in texts + texts:
        want = _searched(s)
        if want is None:
            continue  # (the county-level city's rule then: tested above)
        assert _district_prefixes([s])[0] == want
        assert mask(s, "address") == want + (ADDRESS_FILL if len(want) < len(s) else "")
        if len(want) > DISTRICT_HEAD:
            assert _DISTRICT_ENDS[s[:DISTRICT_HEAD]] == -1  # not in the head: searched whole


def test_remembered_heads_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernel_masking, "_HEADS_KEPT", 8)
    _DISTRICT_ENDS.clear()
    heads = [f"江苏省宿迁市第{i:03d}区某路" for i in range(20)]
    for head in heads:
        assert mask(head + "1号", "address") == head[:11] + ADDRESS_FILL
        assert len(_DISTRICT_ENDS) <= 8
    assert mask(heads[0] + "1号", "address") == heads[0][:11] + ADDRESS_FILL
