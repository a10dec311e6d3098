"""Rule profiles: the bundled files load, match their measures, and bad files are refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from govshare.rules import (
    PROFILE_NAMES,
    Deadline,
    ProfileError,
    RuleProfile,
    load_profile,
    load_profiles,
    profile_source,
    render_profile,
)
from govshare.rules.loader import BUNDLED_DIR


@pytest.fixture(scope="module")
def profiles() -> dict[str, RuleProfile]:
    return load_profiles()


def _bundled_text(name: str) -> str:
    return (BUNDLED_DIR / f"{name}.yaml").read_text(encoding="utf-8")


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"fixture text {old!r} not found exactly once"
    return text.replace(old, new)


def _deadlines(profile: RuleProfile) -> dict[str, Deadline]:
    out: dict[str, Deadline] = {}
    for group_name in ("sharing", "catalog", "correction", "open_data"):
        group = getattr(profile, group_name)
        for field in type(group).model_fields:
            value = getattr(group, field)
            if isinstance(value, Deadline):
                out[f"{group_name}.{field}"] = value
    return out


# Bundled profiles ---------------------------------------------------------------


def test_every_bundled_profile_loads(profiles: dict[str, RuleProfile]) -> None:
    assert tuple(profiles) == PROFILE_NAMES
    for name, profile in profiles.items():
        assert profile.name == name
        assert profile.title_zh and profile.title_en and profile.source
        assert load_profile(BUNDLED_DIR / f"{name}.yaml") == profile


def test_profiles_are_immutable(profiles: dict[str, RuleProfile]) -> None:
    with pytest.raises(ValidationError):
        profiles["suqian"].audit.min_retention_days = 1  # type: ignore[misc]


@pytest.mark.req("SQ-5.4", "SQ-7", "SQ-8", "SQ-9", "SQ-10.1", "SQ-10.2", "SQ-11", "SQ-16")
@pytest.mark.req("SQ-17", "SQ-19", "SQ-22", "SQ-29")
def test_suqian_profile_matches_its_measures(profiles: dict[str, RuleProfile]) -> None:
    p = profiles["suqian"]
    assert p.share_categories == ["unconditional", "conditional", "not_shared"]
    assert p.scope.charging_allowed is False
    # SQ-11: one city platform with two network parts; counties are tenants.
    assert p.tiers == ["city", "county"]
    assert p.platform.platform_tiers == ["city"]
    assert p.platform.county_tenants is True
    assert p.platform.network_parts == ["intranet", "extranet"]
    assert p.platform.single_sharing_channel is True
    # SQ-19: unconditional data is taken directly; the provider replies in 10 WD from submission.
    assert p.sharing.unconditional_needs_application is False
    assert p.sharing.unconditional_decider is None
    assert p.sharing.conditional_decider == "provider"
    reply = p.sharing.provider_reply
    assert reply is not None
    assert (reply.days, reply.unit, reply.start, reply.timely) == (
        10,
        "working",
        "application_submitted",
        False,
    )
    assert p.sharing.compliance_review is None
    assert p.sharing.consumer_notice is None
    # SQ-8: 15 WD from the change.
    update = p.catalog.update_after_change
    assert update is not None
    assert (update.days, update.unit, update.start) == (15, "working", "change_occurred")
    assert p.catalog.min_full_maintenance_per_year == 1
    # SQ-10.1 / SQ-17: basis for 不予共享, head sign-off and authority approval.
    basis = p.classification.basis
    assert basis.required_for == ["not_shared"]
    assert set(basis.accepted_types) == {
        "law",
        "administrative_regulation",
        "central_policy",
        "provincial_policy",
    }
    assert basis.head_sign_off_required and basis.authority_approval_required
    assert p.classification.base_must_be_unconditional is True
    assert p.catalog.base_kinds == ["population", "legal_entity", "geo", "licence", "credit"]
    # SQ-16: ID card number; USCC with the organisation-code fallback.
    assert p.identifiers.natural_person == ["id_card_number"]
    assert p.identifiers.organisation == ["uscc", "organisation_code"]
    # SQ-22: verification is "timely", with no number.
    verify = p.correction.verify
    assert verify is not None and verify.timely and verify.days is None
    assert p.correction.business_continues_with_proof is True
    assert p.open_data.categories == []
    assert p.open_data.catalog_has_open_flag is True
    assert p.projects.approval_requires_project_catalog
    assert p.projects.acceptance_requires_catalog_loaded


@pytest.mark.req("SZ-2", "SZ-7", "SZ-11", "SZ-12", "SZ-13", "SZ-13.3", "SZ-14.1", "SZ-15.1")
@pytest.mark.req("SZ-15.2", "SZ-16.1", "SZ-16.3", "SZ-17", "SZ-19", "SZ-23", "SZ-24")
def test_shuozhou_profile_matches_its_measures(profiles: dict[str, RuleProfile]) -> None:
    p = profiles["shuozhou"]
    assert p.scope.non_classified_only is True
    assert p.platform.single_sharing_channel is True
    assert p.share_categories == ["unconditional", "conditional", "not_shared"]
    # SZ-15.1: unconditional data needs an application and a 2-WD compliance review.
    assert p.sharing.unconditional_needs_application is True
    assert p.sharing.unconditional_decider == "platform"
    review = p.sharing.compliance_review
    assert review is not None
    assert (review.days, review.unit, review.start, review.start_stated) == (
        2,
        "working",
        "application_submitted",
        False,
    )
    # SZ-15.2: the provider (or its agent, SZ-16.1) replies within 5 WD of forwarding.
    reply = p.sharing.provider_reply
    assert reply is not None
    assert (reply.days, reply.unit, reply.start, reply.start_stated) == (
        5,
        "working",
        "forwarded",
        False,
    )
    assert p.sharing.conditional_decider == "provider_or_agent"
    assert p.sharing.delegated_reviewer is True
    assert p.sharing.dedicated_resources is True
    # SZ-13.3 / SZ-14.1: reasons and a basis; internal rules are never a basis.
    basis = p.classification.basis
    assert basis.required_for == ["not_shared"]
    assert basis.reasons_required is True
    assert basis.department_internal_rules_rejected is True
    assert "department_internal_rule" not in basis.accepted_types
    assert p.security.security_agreement == "provider_decides"
    assert p.security.release_review_required is True
    # SZ-7: 15 WD; SZ-17: verify and correct within 5 WD of the feedback.
    update = p.catalog.update_after_change
    assert update is not None and (update.days, update.start) == (15, "change_occurred")
    for deadline in (p.correction.verify, p.correction.correct):
        assert deadline is not None
        assert (deadline.days, deadline.unit, deadline.start) == (5, "working", "feedback_received")
    # SZ-19: at least 20 calendar days of transition, new resource first, consumers told.
    assert p.retirement.new_resource_live_first and p.retirement.notify_consumers
    transition = p.retirement.transition_min
    assert transition is not None and (transition.days, transition.unit) == (20, "calendar")
    # SZ-23 / SZ-24: three open categories; 10 WD from receipt with no extension.
    assert p.open_data.categories == ["open", "open_on_request", "closed"]
    open_reply = p.open_data.application_reply
    assert open_reply is not None
    assert (open_reply.days, open_reply.start) == (10, "request_received")
    assert open_reply.extension_max_days is None
    assert "macro_economy" in p.catalog.base_kinds


@pytest.mark.req("YX-3", "YX-7", "YX-12", "YX-13", "YX-20", "YX-21", "YX-22")
def test_yixing_profile_matches_its_measures(profiles: dict[str, RuleProfile]) -> None:
    p = profiles["yixing"]
    assert p.share_categories == ["unconditional", "conditional"]
    assert "not_shared" not in p.share_categories
    assert p.classification.basis.required_for == []
    assert p.scope.charging_allowed is False
    assert p.scope.non_classified_only is True
    assert p.security.security_agreement == "mandatory_three_party"
    assert p.sharing.conditional_decider == "three_party_agreement"
    assert p.open_data.public_release_forbidden is True
    assert p.open_data.categories == []
    assert p.delivery.real_time_via_front_end is True
    assert p.catalog.change_needs_written_notice is True
    update = p.catalog.update_after_change
    assert update is not None and update.timely and update.days is None
    # The measure is silent on every application deadline.
    assert p.sharing.compliance_review is None
    assert p.sharing.provider_reply is None


@pytest.mark.req("HB-6", "HB-7", "HB-8.1", "HB-8.3", "HB-9", "HB-11", "HB-12", "HB-13")
@pytest.mark.req("HB-16", "HB-19", "HB-20", "HB-21", "HB-23", "HBP-5", "HBP-6", "HBP-7")
@pytest.mark.req("HBP-11")
def test_hubei_profile_matches_its_measures(profiles: dict[str, RuleProfile]) -> None:
    p = profiles["hubei"]
    assert p.share_categories == ["unconditional", "conditional", "not_shared"]
    assert p.tiers == ["province", "city"]
    assert p.platform.platform_tiers == ["province", "city"]
    assert p.platform.county_tenants is False
    assert p.sharing.unconditional_needs_application is True
    assert p.sharing.unconditional_decider == "platform"
    assert p.sharing.controlled_parameter_grants_by_provider is True
    assert p.sharing.conditional_decider == "provider"
    s = p.sharing
    assert s.compliance_review is not None and s.provider_reply is not None
    assert s.consumer_notice is not None and s.direct_authorisation is not None
    # HB-19: 3 WD check; HB-20: 10 WD from receipt, then 1 WD notice; HB-21: 3 WD direct.
    assert (s.compliance_review.days, s.compliance_review.start) == (3, "application_submitted")
    assert (s.provider_reply.days, s.provider_reply.start) == (10, "provider_received")
    assert (s.consumer_notice.days, s.consumer_notice.start) == (1, "provider_replied")
    assert (s.direct_authorisation.days, s.direct_authorisation.start) == (
        3,
        "application_accepted",
    )
    for d in (s.compliance_review, s.provider_reply, s.consumer_notice, s.direct_authorisation):
        assert d.unit == "working"
    basis = p.classification.basis
    assert basis.required_for == ["not_shared"]
    assert set(basis.accepted_types) == {
        "law",
        "administrative_regulation",
        "ministerial_rule",
        "central_policy",
    }
    assert len(p.catalog.themes) == 17
    assert p.catalog.themes[0] == "全民健康保障" and p.catalog.themes[-1] == "公共资源交易"
    assert p.delivery.offline_exchange_needs_approval is True
    update = p.catalog.update_after_change
    assert update is not None and update.timely and update.days is None
    correct = p.correction.correct
    assert correct is not None and correct.timely and correct.days is None
    pr = p.projects
    assert pr.approval_requires_sharing_plan_review and pr.approval_requires_annual_plan_filing
    assert pr.approval_requires_interconnection
    assert pr.acceptance_requires_third_party_testing
    assert pr.acceptance_requires_graded_protection_filing
    assert pr.acceptance_requires_review_opinion and pr.acceptance_requires_sharing_compliance


@pytest.mark.req("NX-12", "NX-14", "NX-22", "NX-23", "NX-24", "NX-33", "NX-35", "NX-37.1")
@pytest.mark.req("NX-38", "NX-43", "NX-44", "NX-45", "NX-46", "NX-60", "NX-61", "NX-64")
@pytest.mark.req("NX-65")
def test_neixiang_profile_matches_its_measures(profiles: dict[str, RuleProfile]) -> None:
    p = profiles["neixiang"]
    assert p.share_categories == ["unconditional", "conditional", "not_shared"]
    # NX-35: the county runs no platform; it is a tenant of the city platform.
    assert "county" in p.tiers and p.platform.platform_tiers == ["city"]
    assert p.platform.county_tenants is True
    assert p.platform.single_sharing_channel is True
    # NX-12 / NX-14: every service is applied for and the authority decides, with no deadline.
    assert p.sharing.unconditional_needs_application is True
    assert p.sharing.unconditional_decider == "authority"
    assert p.sharing.conditional_decider == "authority"
    assert p.sharing.scenario_based_grants is True
    assert p.sharing.provider_reply is None and p.sharing.compliance_review is None
    # NX-37.1: a basis for both restricted categories.
    assert p.classification.basis.required_for == ["conditional", "not_shared"]
    # NX-33: no six-month window (at most 184 days) may be cut short.
    assert p.audit.min_retention_days >= 184
    # NX-22 / NX-23: 5 + 5 WD, and 5 WD to report to the city.
    c = p.catalog
    assert c.update_after_change is not None and c.authority_update is not None
    assert c.report_to_higher_level is not None
    assert (c.update_after_change.days, c.update_after_change.start) == (5, "change_occurred")
    assert (c.authority_update.days, c.authority_update.start) == (
        5,
        "update_application_received",
    )
    assert c.report_to_higher_level.days == 5
    assert p.identifiers.natural_person == ["id_document_number"]
    assert p.identifiers.organisation == ["uscc"]
    # NX-38 / NX-14: three application types, batch last and only as a fallback.
    assert p.delivery.modes == ["query", "verify", "batch"]
    assert p.delivery.preference[-1] == "batch"
    assert p.delivery.batch_only_when_query_or_verify_insufficient is True
    # NX-43..46: open categories and the 10 + 10 WD reply windows.
    assert p.open_data.categories == ["open", "open_on_request", "closed"]
    assert p.open_data.basis_required_for == ["open_on_request", "closed"]
    for d in (p.open_data.application_reply, p.open_data.catalog_correction_reply):
        assert d is not None
        assert (d.days, d.start, d.extension_max_days, d.extension_needs) == (
            10,
            "request_received",
            10,
            "producer_head_approval",
        )
    assert p.open_data.identity_authentication is True
    # NX-64 / NX-65: report via the authority with evidence; decide in 5, correct in 10.
    assert p.correction.report_via_authority and p.correction.evidence_required
    verify, correct = p.correction.verify, p.correction.correct
    assert verify is not None and (verify.days, verify.start) == (5, "dispatched")
    assert correct is not None and (correct.days, correct.start) == (10, "correction_decided")
    # NX-60: end of January and end of February.
    reports = [(r.reporter, r.recipient, r.due_month) for r in p.reporting.annual_reports]
    assert reports == [
        ("department", "county_authority", 1),
        ("county_authority", "city_government", 2),
    ]
    assert p.projects.approval_requires_project_catalog
    assert p.projects.acceptance_requires_platform_docking


@pytest.mark.req("NX-33")
def test_every_profile_keeps_logs_at_least_180_days(profiles: dict[str, RuleProfile]) -> None:
    for profile in profiles.values():
        assert profile.audit.min_retention_days >= 180, profile.name


def test_default_profile_invents_no_deadline_numbers(profiles: dict[str, RuleProfile]) -> None:
    for key, deadline in _deadlines(profiles["default"]).items():
        assert deadline.days is None and deadline.timely, key


def test_timely_deadlines_have_no_days(profiles: dict[str, RuleProfile]) -> None:
    seen_timely = 0
    for profile in profiles.values():
        for key, deadline in _deadlines(profile).items():
            assert deadline.timely == (deadline.days is None), f"{profile.name}: {key}"
            seen_timely += deadline.timely
    assert seen_timely > 0


# Refused files ------------------------------------------------------------------


def test_wrong_type_names_file_key_and_reason(tmp_path: Path) -> None:
    text = _replace_once(_bundled_text("suqian"), "days: 10  # SQ-19", 'days: "ten"')
    path = _write(tmp_path, "suqian", text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    err = info.value
    assert err.file == str(path)
    assert err.key == "sharing.provider_reply.days"
    assert "integer" in err.reason and "'ten'" in err.reason
    assert str(err) == f"rule profile {path}: key 'sharing.provider_reply.days': {err.reason}"


def test_strings_are_not_coerced_to_booleans(tmp_path: Path) -> None:
    text = _replace_once(
        _bundled_text("suqian"), "charging_allowed: false", 'charging_allowed: "no"'
    )
    with pytest.raises(ProfileError) as info:
        load_profile(_write(tmp_path, "suqian", text))
    assert info.value.key == "scope.charging_allowed"


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    text = _replace_once(
        _bundled_text("suqian"),
        "  charging_allowed: false",
        "  charging_allowed: false\n  charging_fee: 0",
    )
    with pytest.raises(ProfileError) as info:
        load_profile(_write(tmp_path, "suqian", text))
    assert info.value.key == "scope.charging_fee"
    assert "unknown key" in info.value.reason


def test_missing_key_is_refused(tmp_path: Path) -> None:
    text = _replace_once(
        _bundled_text("hubei"), "  min_retention_days: 180", "  min_retention_days_x: 180"
    )
    with pytest.raises(ProfileError) as info:
        load_profile(_write(tmp_path, "hubei", text))
    assert info.value.key == "audit.min_retention_days"
    assert "missing" in info.value.reason


def test_yaml_syntax_error_names_the_file(tmp_path: Path) -> None:
    text = _replace_once(_bundled_text("suqian"), "tiers: [city, county]", "tiers: [city, county")
    path = _write(tmp_path, "suqian", text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert str(path) in str(info.value)
    assert "YAML syntax error" in info.value.reason
    assert "line" in info.value.reason


def test_duplicate_key_is_refused(tmp_path: Path) -> None:
    text = _replace_once(
        _bundled_text("suqian"),
        "  charging_allowed: false",
        "  charging_allowed: false\n  charging_allowed: true",
    )
    with pytest.raises(ProfileError) as info:
        load_profile(_write(tmp_path, "suqian", text))
    assert info.value.key == "charging_allowed"
    assert "twice" in info.value.reason


def test_name_must_equal_file_stem(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as info:
        load_profile(_write(tmp_path, "renamed", _bundled_text("suqian")))
    assert info.value.key == "name"


def test_timely_deadline_with_days_is_refused(tmp_path: Path) -> None:
    text = _replace_once(
        _bundled_text("suqian"),
        "    timely: false  # SQ-19: a number is given",
        "    timely: true",
    )
    with pytest.raises(ProfileError) as info:
        load_profile(_write(tmp_path, "suqian", text))
    assert info.value.key == "sharing.provider_reply.timely"


def test_deadline_without_days_must_be_timely(tmp_path: Path) -> None:
    text = _replace_once(_bundled_text("suqian"), "    days: 10  # SQ-19", "    days: null")
    with pytest.raises(ProfileError) as info:
        load_profile(_write(tmp_path, "suqian", text))
    assert info.value.key == "sharing.provider_reply.timely"


def test_non_positive_days_are_refused(tmp_path: Path) -> None:
    text = _replace_once(_bundled_text("shuozhou"), "    days: 5  # SZ-15.2", "    days: 0")
    with pytest.raises(ProfileError) as info:
        load_profile(_write(tmp_path, "shuozhou", text))
    assert info.value.key == "sharing.provider_reply.days"


@pytest.mark.req("YX-7")
def test_basis_category_must_exist_in_the_profile(tmp_path: Path) -> None:
    text = _replace_once(
        _bundled_text("yixing"),
        "    required_for: []  # YX-7: there is no 不予共享",
        "    required_for: [not_shared]",
    )
    text = _replace_once(
        text, "    accepted_types: []  # YX-7: not applicable", "    accepted_types: [law]"
    )
    with pytest.raises(ProfileError) as info:
        load_profile(_write(tmp_path, "yixing", text))
    assert info.value.key == "classification.basis.required_for"


@pytest.mark.req("SQ-11")
def test_county_tenants_must_match_the_platform_tiers(tmp_path: Path) -> None:
    text = _replace_once(
        _bundled_text("suqian"), "  county_tenants: true", "  county_tenants: false"
    )
    with pytest.raises(ProfileError) as info:
        load_profile(_write(tmp_path, "suqian", text))
    assert info.value.key == "platform.county_tenants"


# Directory overrides and rendering ------------------------------------------------


def test_extra_dir_overrides_bundled_and_adds(tmp_path: Path) -> None:
    override = _replace_once(
        _bundled_text("suqian"), "min_retention_days: 180", "min_retention_days: 365"
    )
    _write(tmp_path, "suqian", override)
    added = _replace_once(_bundled_text("default"), "name: default", "name: local_test")
    _write(tmp_path, "local_test", added)
    loaded = load_profiles(tmp_path)
    assert loaded["suqian"].audit.min_retention_days == 365
    assert loaded["hubei"].audit.min_retention_days == 180
    assert list(loaded)[: len(PROFILE_NAMES)] == list(PROFILE_NAMES)
    assert loaded["local_test"].name == "local_test"
    assert "min_retention_days: 365" in profile_source("suqian", tmp_path)
    assert load_profiles()["suqian"].audit.min_retention_days == 180  # nothing cached


def test_bad_file_in_extra_dir_stops_loading(tmp_path: Path) -> None:
    _write(tmp_path, "hubei", "name: hubei\n")
    with pytest.raises(ProfileError) as info:
        load_profiles(tmp_path)
    assert info.value.file == str(tmp_path / "hubei.yaml")


def test_missing_extra_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError):
        load_profiles(tmp_path / "absent")


def test_profile_source_keeps_citations_and_unknown_name_fails() -> None:
    text = profile_source("hubei")
    assert "# HB-20" in text
    with pytest.raises(ProfileError) as info:
        profile_source("atlantis")
    assert "atlantis" in str(info.value)


def test_render_profile_round_trips(profiles: dict[str, RuleProfile]) -> None:
    for profile in profiles.values():
        rendered = render_profile(profile)
        assert RuleProfile.model_validate(yaml.safe_load(rendered)) == profile


# Citations -------------------------------------------------------------------------

_CITATION = re.compile(r"[A-Z]{2,3}-\d+|default:")
_LINE = re.compile(r"^(?P<body>[^#]*?)\s*(?:#\s?(?P<comment>.*))?$")


def _uncited_lines(text: str) -> list[str]:
    bad = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.match(line)
        assert match is not None
        body = match["body"].strip()
        is_container = body.endswith(":") or body == "-"
        if is_container:
            continue  # a key whose value is a nested block
        comment = match["comment"] or ""
        if not _CITATION.search(comment):
            bad.append(f"{number}: {line}")
    return bad


def test_citation_check_catches_an_uncited_value() -> None:
    assert _uncited_lines("a:\n  b: 1  # SQ-19\n  c: 2\n  d: 3  # note\n") == [
        "3:   c: 2",
        "4:   d: 3  # note",
    ]
    assert _uncited_lines("x:  # group\n  - 1  # default: none\n") == []


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_every_value_cites_a_requirement(name: str) -> None:
    assert _uncited_lines(_bundled_text(name)) == []
