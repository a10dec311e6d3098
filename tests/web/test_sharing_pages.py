"""The sharing pages through the real app: the wizard with its field errors, the application
page with its timeline and the forms of whoever may act, the inbox sorted by deadline, the
negotiation and coordination, the grant pages, and who may see what (another department
never sees an application or a grant: 404)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from govshare.catalog.model import ShareCategory
from govshare.demo.seed import DEMO_PASSWORD, demo_uscc
from govshare.identity import services as identity_services
from govshare.identity.model import JurisdictionLevel
from govshare.identity.services import DepartmentInput
from govshare.kernel.actor import Actor, Role
from govshare.kernel.clock import local_date
from govshare.platform import Platform
from govshare.rules.calendar import load_calendar
from govshare.sharing import queries
from govshare.sharing.model import ApplicationState, GrantStatus, Masking, StepKind
from tests.integration.catalog.conftest import City
from tests.integration.catalog.test_rules import audit_actions, full_entry, publish
from tests.integration.sharing.support import share_values
from tests.web.conftest import csrf_from

ID26 = r"[0-9A-Z]{26}"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
SYSTEM = Actor.system("test")


def city_of(client: TestClient) -> City:
    platform: Platform = client.app.state.platform  # type: ignore[attr-defined]
    return City(platform)


def as_user(client: TestClient, username: str) -> str:
    """Sign in as ``username`` (a fresh session); returns the CSRF token."""
    client.cookies.clear()
    token = csrf_from(client.get("/login").text)
    r = client.post(
        "/login",
        data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_from(client.get("/").text)


def published(
    city: City,
    category: ShareCategory = ShareCategory.CONDITIONAL,
    *,
    dept: str = "公安局",
    author: str = "ga_catalog",
    reviewer: str = "admin",
    **changes: Any,
) -> str:
    """A published resource of ``dept`` in the demo city (Suqian profile): its id."""
    entry = full_entry(city, city.depts[dept].id, **share_values(category, **changes))
    return publish(city, city.actor(author), city.actor(reviewer), entry).resource_id


def wizard(token: str, resource_id: str, consumer_id: str, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "csrf_token": token,
        "resource_id": resource_id,
        "department_id": consumer_id,
        "items": ["name", "id_card"],
        "modes": ["query"],
        "purpose": "administrative_basis",
        "scenario": "低保资格审核",
        "legal_basis": "《社会救助暂行办法》第十一条",
        "valid_until": "2099-12-31",
        "action": "submit",
    }
    data.update(over)
    return data


def field_error(html: str, field: str) -> str:
    match = re.search(
        rf'<span class="field-error" id="err-{re.escape(field)}"[^>]*>([^<]*)</span>', html
    )
    assert match, f"no error shown next to {field}"
    return match.group(1)


def submit(client: TestClient, token: str, resource_id: str, consumer_id: str, **over: Any) -> str:
    files = over.pop("files", None)
    r = client.post(
        "/sharing/apply",
        data=wizard(token, resource_id, consumer_id, **over),
        files=files,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    match = re.fullmatch(rf"/sharing/applications/({ID26})", r.headers["location"])
    assert match
    return match.group(1)


def application(client: TestClient, application_id: str) -> Any:
    with client.app.state.platform.db.read() as conn:  # type: ignore[attr-defined]
        return queries.get_application(conn, application_id)


def grant(client: TestClient, grant_id: str) -> Any:
    with client.app.state.platform.db.read() as conn:  # type: ignore[attr-defined]
        return queries.get_grant(conn, grant_id)


def section(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start : start + 20000]


def post(client: TestClient, url: str, token: str, **data: Any) -> Any:
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)


def approve(client: TestClient, application_id: str, token: str, **over: Any) -> Any:
    """The decider approves the application as asked (name and id_card, by query)."""
    data: dict[str, Any] = {"outcome": "approve", "items": ["name", "id_card"], "modes": ["query"]}
    return post(client, f"/sharing/applications/{application_id}/decide", token, **(data | over))


# The wizard and the provider's decision (Suqian) ----------------------------------------------
@pytest.mark.req("SQ-19", "NX-12", "HB-18")
def test_wizard_submission_then_the_provider_approves_with_masking(client: TestClient) -> None:
    city = city_of(client)
    rid = published(city)
    rs = city.depts["人社局"].id
    token = as_user(client, "rs_user")

    # The catalog entry offers the wizard; the wizard lists the items with the 最少够用 hint
    # and only the modes the resource offers.
    entry = client.get(f"/catalog/resources/{rid}")
    assert f'href="/sharing/apply?resource_id={rid}"' in entry.text and "申请使用" in entry.text
    page = client.get(f"/sharing/apply?resource_id={rid}")
    assert page.status_code == 200
    assert "最少够用" in page.text
    for code in ("name", "id_card", "household_address"):
        assert f'name="items" value="{code}"' in page.text
    assert (
        'name="modes" value="query"' in page.text and 'name="modes" value="feed"' not in page.text
    )
    assert "人社业务系统" in page.text  # the consumer's business systems

    # Errors of the service are shown next to their field, and nothing is stored.
    r = client.post("/sharing/apply", data=wizard(token, rid, rs, items=[]))
    assert r.status_code == 422
    assert field_error(r.text, "items") == "请选择所需信息项"
    r = client.post("/sharing/apply", data=wizard(token, rid, rs, modes=["feed"]))
    assert r.status_code == 422 and "feed" in field_error(r.text, "modes")
    r = client.post("/sharing/apply", data=wizard(token, rid, rs, valid_until="明年"))
    assert r.status_code == 422 and field_error(r.text, "valid_until")
    assert "低保资格审核" in r.text  # shown again as typed
    r = client.post(
        "/sharing/apply",
        data=wizard(token, rid, rs),
        files={"files": ("说明.txt", b"plain text", "text/plain")},
    )
    assert r.status_code == 422 and "PDF" in field_error(r.text, "files")
    with client.app.state.platform.db.read() as conn:  # type: ignore[attr-defined]
        assert queries.applications_where(conn, consumer_department_ids={rs}) == []

    aid = submit(client, token, rid, rs, files={"files": ("申请函.pdf", PDF, "application/pdf")})
    page = client.get(f"/sharing/applications/{aid}")
    assert "共享申请已提交" in page.text
    app = application(client, aid)
    assert app.state is ApplicationState.AWAITING_DECISION
    (step,) = [s for s in app.steps if s.at is None]
    assert step.kind is StepKind.DECISION and step.department_id == city.depts["公安局"].id
    with client.app.state.platform.db.read() as conn:  # type: ignore[attr-defined]
        due = load_calendar(conn).add_working_days(
            local_date(app.submitted_at), 10, provisional=True
        )
    timeline = section(page.text, "timeline")
    assert "授权审核" in timeline and step.due_on.isoformat() in timeline
    assert step.due_on == due.day  # SQ-19: 10 working days from the application date
    assert "申请函.pdf" in section(page.text, "attachments")
    assert 'id="approve-form"' not in page.text  # the consumer does not decide
    download = client.get(re.search(r'href="(/sharing/attachments/[0-9A-Z]{26})"', page.text)[1])  # type: ignore[index]
    assert download.status_code == 200 and download.content == PDF
    assert "attachment;" in download.headers["content-disposition"]

    # The provider's inbox shows it with its countdown; the approver decides.
    token = as_user(client, "ga_approver")
    inbox = client.get("/sharing/inbox")
    rows = section(inbox.text, "inbox-table")
    assert f"/sharing/applications/{aid}" in rows and "人社局" in rows
    assert step.due_on.isoformat() in rows and ("天" in rows)
    page = client.get(f"/sharing/applications/{aid}")
    assert 'id="approve-form"' in page.text and 'id="refuse-form"' in page.text
    url = f"/sharing/applications/{aid}/decide"
    # raw values need a basis: the error shows in the approval form, next to the basis
    r = post(
        client,
        url,
        token,
        outcome="approve",
        items=["name", "id_card"],
        modes=["query"],
        **{"mask-name": "raw", "mask-id_card": "masked"},
    )
    assert r.status_code == 422
    assert field_error(section(r.text, "approve-form"), "basis") == "提供明文须说明依据"
    r = post(
        client,
        url,
        token,
        outcome="approve",
        items=["name"],
        modes=["query"],
        valid_until="2098-12-31",
        basis="《社会救助暂行办法》第十一条",
        rate_limit_per_minute="30",
        quota_per_day="5000",
        **{"mask-name": "raw"},
    )
    assert r.status_code == 303
    app = application(client, aid)
    assert app.state is ApplicationState.APPROVED and app.grant_id
    g = grant(client, app.grant_id)
    assert [(i.code, i.masking) for i in g.items] == [("name", Masking.RAW)]
    assert g.valid_until == date(2098, 12, 31) and g.rate_limit_per_minute == 30
    assert g.status is GrantStatus.ACTIVE
    assert audit_actions(city, aid)[:2] == ["submit", "attach"]
    assert "approve" in audit_actions(city, aid)

    # the consumer sees the grant with its masking levels
    as_user(client, "rs_user")
    page = client.get(f"/sharing/grants/{g.id}")
    assert page.status_code == 200
    assert "明文" in section(page.text, "grant-items") and "每分钟" in page.text
    assert f"/sharing/applications/{aid}" in page.text

    # another department sees neither the application nor the grant, nor can it act
    token = as_user(client, "scjg_admin")
    assert client.get(f"/sharing/applications/{aid}").status_code == 404
    assert client.get(f"/sharing/grants/{g.id}").status_code == 404
    assert post(client, url, token, outcome="refuse", reason="x", basis="y").status_code == 404
    r = post(client, f"/sharing/grants/{g.id}/status", token, action="revoke", reason="x")
    assert r.status_code == 404
    assert grant(client, g.id).status is GrantStatus.ACTIVE
    assert aid not in client.get("/sharing/applications?side=consumer").text
    assert aid not in client.get("/sharing/applications?side=provider").text
    assert g.id not in client.get("/sharing/grants?side=provider").text
    att = re.search(r"/sharing/attachments/([0-9A-Z]{26})", download.url.path)
    assert att and client.get(f"/sharing/attachments/{att[1]}").status_code in (403, 404)


@pytest.mark.req("SQ-19")
def test_an_unconditional_resource_is_used_directly(client: TestClient) -> None:
    city = city_of(client)
    rid = published(city, ShareCategory.UNCONDITIONAL)
    token = as_user(client, "rs_user")
    page = client.get(f"/sharing/apply?resource_id={rid}")
    assert "无需申请" in section(page.text, "apply-direct-use")
    assert 'id="apply-form"' not in page.text
    r = client.post("/sharing/apply", data=wizard(token, rid, city.depts["人社局"].id))
    assert r.status_code == 409 and "无需申请" in r.text


@pytest.mark.req("YX-19", "SZ-15.3")
def test_a_not_shared_resource_goes_to_the_authority_for_coordination(client: TestClient) -> None:
    city = city_of(client)
    rid = published(city, ShareCategory.NOT_SHARED)
    rs = city.depts["人社局"].id
    token = as_user(client, "rs_user")
    page = client.get(f"/sharing/apply?resource_id={rid}")
    assert "数据主管部门协调" in section(page.text, "coordination-path")
    assert 'id="coordinate-button"' in page.text and 'id="submit-application"' not in page.text
    # a plain submission is refused with the coordination path
    r = client.post("/sharing/apply", data=wizard(token, rid, rs))
    assert r.status_code == 409 and "协调" in section(r.text, "apply-error")
    r = client.post("/sharing/apply", data=wizard(token, rid, rs, action="coordinate", reason=""))
    assert r.status_code == 422 and field_error(r.text, "body") == "请填写内容"
    aid = submit(client, token, rid, rs, action="coordinate", reason="办理低保须核对户籍")
    app = application(client, aid)
    assert app.state is ApplicationState.COORDINATING

    token = as_user(client, "admin")
    assert f"/sharing/applications/{aid}" in section(client.get("/sharing/inbox").text, "inbox")
    page = client.get(f"/sharing/applications/{aid}")
    assert "办理低保须核对户籍" in section(page.text, "thread")
    assert 'id="coordinate-form"' in page.text
    url = f"/sharing/applications/{aid}/negotiation/coordinate"
    r = post(client, url, token, outcome="uphold", reason="")
    assert r.status_code == 422 and "须说明理由" in section(r.text, "coordinate-form")
    r = post(client, url, token, outcome="uphold", reason="涉及个人隐私，维持不予共享")
    assert r.status_code == 303
    app = application(client, aid)
    assert app.state is ApplicationState.REFUSED and app.steps[-1].decision.value == "uphold"
    assert "coordinate" in audit_actions(city, aid)


# Refusal, negotiation and coordination --------------------------------------------------------
@pytest.mark.req("SQ-19", "SZ-15.3", "HB-25")
def test_refusal_negotiation_escalation_and_a_coordinated_grant(client: TestClient) -> None:
    city = city_of(client)
    rid = published(city)
    rs = city.depts["人社局"].id
    token = as_user(client, "rs_user")
    aid = submit(client, token, rid, rs)

    token = as_user(client, "ga_approver")
    url = f"/sharing/applications/{aid}/decide"
    r = post(client, url, token, outcome="refuse", reason="超出履职范围")
    assert r.status_code == 422
    assert "理由和依据" in section(r.text, "refuse-form")
    assert "超出履职范围" in section(r.text, "refuse-form")  # kept as typed
    r = post(
        client,
        url,
        token,
        outcome="refuse",
        reason="超出履职范围",
        basis="《某法》第十条",
        basis_type="law",
    )
    assert r.status_code == 303
    assert application(client, aid).state is ApplicationState.REFUSED

    token = as_user(client, "rs_user")
    page = client.get(f"/sharing/applications/{aid}")
    assert "超出履职范围" in section(page.text, "timeline")
    assert 'id="negotiate-form"' in page.text
    r = post(client, f"/sharing/applications/{aid}/negotiation", token, body="我局依法履职确需")
    assert r.status_code == 303
    assert application(client, aid).state is ApplicationState.NEGOTIATING

    token = as_user(client, "ga_approver")
    page = client.get(f"/sharing/applications/{aid}")
    assert "我局依法履职确需" in section(page.text, "thread")
    assert 'id="agree-form"' in page.text and 'id="withdraw-form"' not in page.text
    r = post(client, f"/sharing/applications/{aid}/negotiation/messages", token, body="请补充依据")
    assert r.status_code == 303
    # the authority does not take part before escalation
    token = as_user(client, "admin")
    page = client.get(f"/sharing/applications/{aid}")
    assert 'id="post-form"' not in page.text and 'id="coordinate-form"' not in page.text

    token = as_user(client, "rs_user")
    r = post(client, f"/sharing/applications/{aid}/negotiation/escalate", token, reason="协商未果")
    assert r.status_code == 303
    assert application(client, aid).state is ApplicationState.COORDINATING

    token = as_user(client, "admin")
    inbox = section(client.get("/sharing/inbox").text, "inbox-table")
    assert f"/sharing/applications/{aid}" in inbox and "协调" in inbox
    r = post(
        client,
        f"/sharing/applications/{aid}/negotiation/coordinate",
        token,
        outcome="grant",
        items=["name"],
        modes=["query"],
        reason="依法履职需要，予以共享",
    )
    assert r.status_code == 303, r.text
    app = application(client, aid)
    assert app.state is ApplicationState.APPROVED and app.grant_id
    assert [i.code for i in grant(client, app.grant_id).items] == ["name"]
    page = client.get(f"/sharing/applications/{aid}")
    assert "协调予以共享" in section(page.text, "negotiation-state")
    actions = audit_actions(city, aid)
    assert actions[:2] == ["submit", "refuse"] and "escalate" in actions and "coordinate" in actions


# Grants --------------------------------------------------------------------------------------
def _granted(client: TestClient, city: City) -> tuple[str, str]:
    rid = published(city)
    token = as_user(client, "rs_user")
    aid = submit(client, token, rid, city.depts["人社局"].id)
    token = as_user(client, "ga_approver")
    r = approve(client, aid, token)
    assert r.status_code == 303
    return aid, application(client, aid).grant_id


@pytest.mark.req("SZ-27")
def test_grant_suspend_resume_revoke_consent_and_destruction(client: TestClient) -> None:
    city = city_of(client)
    _, gid = _granted(client, city)
    url = f"/sharing/grants/{gid}"

    token = as_user(client, "ga_approver")  # an approver answers applications, but
    page = client.get(url)  # suspending grants is for the provider's admins and cataloguers
    assert 'id="status-form"' not in page.text and 'id="onward-form"' in page.text
    token = as_user(client, "ga_admin")
    page = client.get(url)
    assert 'id="suspend-button"' in page.text and 'id="destruction-form"' not in page.text
    r = post(client, url + "/status", token, action="suspend", reason="")
    assert r.status_code == 422 and "须说明理由" in section(r.text, "status-form")
    assert (
        post(client, url + "/status", token, action="suspend", reason="安全检查").status_code == 303
    )
    assert grant(client, gid).status is GrantStatus.SUSPENDED
    assert "安全检查" in section(client.get(url).text, "grant-reason")
    assert (
        post(client, url + "/status", token, action="resume", reason="检查完毕").status_code == 303
    )
    r = post(client, url + "/onward", token, recipient="区人社分局", purpose="低保复核")
    assert r.status_code == 303
    assert "区人社分局" in section(client.get(url).text, "onward")

    # the consumer sees the grant, may renew it, but not suspend it or record consents
    token = as_user(client, "rs_user")
    page = client.get(url)
    assert 'id="status-form"' not in page.text and 'id="onward-form"' not in page.text
    assert f'href="/sharing/apply?renews={gid}"' in page.text
    renew = client.get(f"/sharing/apply?renews={gid}")
    assert f'name="renews_grant_id" value="{gid}"' in renew.text
    assert 'value="name" id="item-name" checked' in renew.text
    assert 'value="household_address" id="item-household_address" >' in renew.text
    assert "低保资格审核" in renew.text  # the scenario of the application
    r = post(client, url + "/status", token, action="revoke", reason="x")
    assert r.status_code == 403 and grant(client, gid).status is GrantStatus.ACTIVE
    assert gid in client.get("/sharing/grants?side=consumer").text
    assert gid not in client.get("/sharing/grants?side=consumer&status=revoked").text

    # the authority revokes; the consumer confirms the destruction, with a certificate
    token = as_user(client, "admin")
    assert gid in client.get("/sharing/grants?side=authority").text
    assert (
        post(client, url + "/status", token, action="revoke", reason="违规使用").status_code == 303
    )
    assert grant(client, gid).status is GrantStatus.REVOKED
    token = as_user(client, "rs_user")
    assert gid in section(client.get("/sharing/inbox").text, "destruction-due")
    page = client.get(url)
    assert 'id="destruction-form"' in page.text and 'id="renew-link"' not in page.text
    r = client.post(
        url + "/attachments",
        data={"csrf_token": token, "kind": "destruction"},
        files={"file": ("销毁证明.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = post(client, url + "/destruction", token, note="")
    assert r.status_code == 422
    r = post(client, url + "/destruction", token, note="2026-12-01 已删除库表及备份")
    assert r.status_code == 303
    g = grant(client, gid)
    assert g.destruction_confirmed_at is not None and not g.destruction_due
    page = client.get(url)
    assert "已删除库表及备份" in section(page.text, "destruction-confirmed")
    assert "销毁证明.pdf" in section(page.text, "grant-attachments")
    assert audit_actions(city, gid)[-2:] == ["attach", "destroy"]


# Shuozhou: compliance review, provider decision, security agreement ---------------------------
@dataclass
class Region:
    jurisdiction_id: str
    authority_id: str
    provider_id: str
    consumer_id: str


def shuozhou(platform: Platform, code: str = "140600") -> Region:
    """A city under the Shuozhou profile with its authority, a provider and a consumer
    department, and users who sign in: sz_admin, sz_cat (provider), sz_user (consumer)."""
    return region(platform, "shuozhou", code, "朔州市", "sz")


def region(platform: Platform, profile: str, code: str, name: str, prefix: str) -> Region:
    """A city under ``profile`` with users <prefix>_admin, <prefix>_cat, <prefix>_user."""
    db = platform.db
    j = identity_services.create_jurisdiction(
        db,
        actor=SYSTEM,
        code=code,
        name=name,
        level=JurisdictionLevel.CITY,
        profile=profile,
        known_profiles=set(platform.profiles),
    )
    ids = [
        identity_services.create_department(
            db,
            DepartmentInput(
                name=f"{name}{short}",
                short_name=f"{name[:2]}{short}",
                uscc=demo_uscc(code, i),
                jurisdiction_id=j.id,
                is_authority=(i == 1),
            ),
            actor=SYSTEM,
        ).id
        for i, short in enumerate(["数据局", "住建局", "卫健委"], start=1)
    ]
    for username, dept, role in (
        (f"{prefix}_admin", ids[0], Role.AUTHORITY_ADMIN),
        (f"{prefix}_cat", ids[1], Role.CATALOGUER),
        (f"{prefix}_user", ids[2], Role.DATA_USER),
    ):
        identity_services.create_user(
            db,
            actor=SYSTEM,
            username=username,
            display_name=username,
            password=DEMO_PASSWORD,
            roles=[(dept, role)],
        )
    return Region(j.id, ids[0], ids[1], ids[2])


def shuozhou_resource(
    city: City,
    r: Region,
    prefix: str = "sz",
    category: ShareCategory = ShareCategory.CONDITIONAL,
) -> str:
    entry = full_entry(city, r.provider_id, **share_values(category))
    author, reviewer = city.actor(f"{prefix}_cat"), city.actor(f"{prefix}_admin")
    return publish(city, author, reviewer, entry).resource_id


@pytest.mark.req("HB-21", "HB-20")
def test_hubei_direct_authorisation_and_the_notice_to_the_consumer(client: TestClient) -> None:
    city = city_of(client)
    r = region(city.platform, "hubei", "420100", "武汉市", "hb")
    city = city_of(client)
    open_rid = shuozhou_resource(city, r, "hb", ShareCategory.UNCONDITIONAL)
    cond_rid = shuozhou_resource(city, r, "hb")
    token = as_user(client, "hb_user")
    direct = submit(client, token, open_rid, r.consumer_id)
    asked = submit(client, token, cond_rid, r.consumer_id)
    assert 'id="authorise-form"' not in client.get(f"/sharing/applications/{direct}").text

    token = as_user(client, "hb_admin")
    page = client.get(f"/sharing/applications/{direct}")
    assert 'id="authorise-form"' in page.text and "直接授权" in section(page.text, "timeline")
    r1 = post(client, f"/sharing/applications/{direct}/authorise", token, outcome="refuse")
    assert r1.status_code == 422 and "理由" in section(r1.text, "authorise-form")
    r1 = post(client, f"/sharing/applications/{direct}/authorise", token, outcome="approve")
    assert r1.status_code == 303
    assert application(client, direct).state is ApplicationState.APPROVED
    r1 = post(client, f"/sharing/applications/{asked}/review", token, outcome="pass")
    assert r1.status_code == 303

    token = as_user(client, "hb_cat")
    r1 = approve(client, asked, token)
    assert r1.status_code == 303
    app = application(client, asked)
    (notice,) = [s for s in app.steps if s.at is None]
    assert notice.kind is StepKind.CONSUMER_NOTICE and notice.department_id == r.authority_id
    assert 'id="notice-form"' not in client.get(f"/sharing/applications/{asked}").text

    token = as_user(client, "hb_admin")
    inbox = section(client.get("/sharing/inbox").text, "inbox-table")
    assert f"/sharing/applications/{asked}" in inbox and "告知使用部门" in inbox
    assert post(client, f"/sharing/applications/{asked}/notice", token).status_code == 303
    assert all(s.at is not None for s in application(client, asked).steps)


@pytest.mark.req("SZ-15.2")
def test_shuozhou_compliance_review_then_the_provider_and_a_security_agreement(
    client: TestClient,
) -> None:
    city = city_of(client)
    region = shuozhou(city.platform)
    city = city_of(client)
    rid = shuozhou_resource(city, region)
    token = as_user(client, "sz_user")
    aid = submit(client, token, rid, region.consumer_id)
    app = application(client, aid)
    assert app.state is ApplicationState.COMPLIANCE_REVIEW
    (step,) = [s for s in app.steps if s.at is None]
    with client.app.state.platform.db.read() as conn:  # type: ignore[attr-defined]
        due = load_calendar(conn).add_working_days(
            local_date(app.submitted_at), 2, provisional=True
        )
    assert step.due_on == due.day  # SZ-15.2: the compliance review within 2 working days
    page = client.get(f"/sharing/applications/{aid}")
    assert 'id="review-form"' not in page.text and "符合性审查" in section(page.text, "timeline")

    token = as_user(client, "sz_admin")
    assert f"/sharing/applications/{aid}" in section(client.get("/sharing/inbox").text, "inbox")
    page = client.get(f"/sharing/applications/{aid}")
    assert 'id="review-form"' in page.text and 'id="approve-form"' not in page.text
    r = post(client, f"/sharing/applications/{aid}/review", token, outcome="pass")
    assert r.status_code == 303
    app = application(client, aid)
    assert app.state is ApplicationState.AWAITING_DECISION

    token = as_user(client, "sz_cat")
    page = client.get(f"/sharing/applications/{aid}")
    assert 'name="security_agreement"' in page.text  # SZ-11: the provider decides
    # a department's internal rules are no basis for refusing (SZ-14.1)
    r = post(
        client,
        f"/sharing/applications/{aid}/decide",
        token,
        outcome="refuse",
        reason="内部规定不允许",
        basis="本局数据管理办法",
        basis_type="department_internal_rule",
    )
    assert r.status_code == 422
    assert "内部管理办法" in field_error(section(r.text, "refuse-form"), "basis_type")
    r = approve(client, aid, token, security_agreement="yes")
    assert r.status_code == 303
    gid = application(client, aid).grant_id
    assert grant(client, gid).status is GrantStatus.PENDING_AGREEMENT

    # the signed agreement is uploaded, then the authority confirms it
    r = client.post(
        f"/sharing/grants/{gid}/attachments",
        data={"csrf_token": token, "kind": "security_agreement"},
        files={"file": ("安全保密协议.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/sharing/grants/{gid}")
    assert 'id="agreement-form"' not in page.text and "安全保密协议.pdf" in page.text
    token = as_user(client, "sz_admin")
    r = post(client, f"/sharing/grants/{gid}/agreement", token, note="")
    assert r.status_code == 422
    r = post(client, f"/sharing/grants/{gid}/agreement", token, note="朔数协〔2026〕1号")
    assert r.status_code == 303
    assert grant(client, gid).status is GrantStatus.ACTIVE
    # the Suqian authority governs none of this: it neither sees nor suspends the grant
    token = as_user(client, "admin")
    assert client.get(f"/sharing/applications/{aid}").status_code == 404
    r = post(client, f"/sharing/grants/{gid}/status", token, action="suspend", reason="越权")
    assert r.status_code == 404 and grant(client, gid).status is GrantStatus.ACTIVE
    assert aid not in client.get("/sharing/applications?side=authority").text


# Inbox, lists, language ----------------------------------------------------------------------
def test_the_inbox_sorts_by_deadline_and_the_authority_sees_overdue_steps(
    client: TestClient,
) -> None:
    from datetime import UTC, datetime, time

    from govshare.kernel.clock import SHANGHAI, set_clock

    city = city_of(client)
    rid = published(city)
    rid2 = published(city, name="居民婚姻登记信息")
    token = as_user(client, "rs_user")
    rs = city.depts["人社局"].id
    late = datetime.combine(date(2026, 3, 2), time(10), tzinfo=SHANGHAI).astimezone(UTC)
    set_clock(lambda: late)
    try:
        old = submit(client, token, rid2, rs, valid_until="2099-01-01")
    finally:
        set_clock(None)
    new = submit(client, token, rid, rs)

    as_user(client, "ga_approver")
    rows = section(client.get("/sharing/inbox").text, "inbox-table")
    assert rows.index(old) < rows.index(new)  # soonest due first
    assert "已逾期" in rows[: rows.index(new)]
    # the authority supervises the overdue step of its jurisdiction; other departments don't
    as_user(client, "admin")
    supervised = section(client.get("/sharing/inbox").text, "supervised")
    assert old in supervised and new not in supervised and "公安局" in supervised
    as_user(client, "scjg_admin")
    page = client.get("/sharing/inbox")
    assert old not in page.text and new not in page.text and 'id="supervised"' not in page.text
    # lists: the consumer's and the provider's
    as_user(client, "rs_admin")
    mine = client.get("/sharing/applications?side=consumer").text
    assert old in mine and new in mine
    assert old not in client.get("/sharing/applications?side=provider").text
    assert (
        client.get("/sharing/applications?side=authority").text.count("/sharing/applications/") == 0
    )
    as_user(client, "ga_admin")
    theirs = client.get("/sharing/applications?side=provider&state=awaiting_decision").text
    assert old in theirs and new in theirs
    assert old not in client.get("/sharing/applications?side=provider&state=approved").text


def test_sharing_pages_in_english_and_the_navigation(client: TestClient) -> None:
    city = city_of(client)
    rid = published(city)
    as_user(client, "rs_user")
    home = client.get("/")
    assert re.search(r'<a href="/sharing">共享</a>', home.text)
    assert client.get("/sharing", follow_redirects=False).headers["location"] == "/sharing/inbox"
    client.cookies.set("lang", "en")
    page = client.get(f"/sharing/apply?resource_id={rid}")
    assert "Least necessary" in page.text and "Submit the application" in page.text
    inbox = client.get("/sharing/inbox")
    assert "Sharing: to do" in inbox.text and "My applications" in inbox.text
    r = client.post(
        "/sharing/apply",
        data=wizard(csrf_from(page.text), rid, city.depts["人社局"].id, items=[]),
    )
    assert field_error(r.text, "items") == "choose the data items"
    search = client.get("/sharing/apply?q=户籍")
    assert f"/sharing/apply?resource_id={rid}" in search.text


def test_only_filing_staff_open_the_wizard_and_anonymous_is_sent_to_login(
    client: TestClient,
) -> None:
    r = client.get("/sharing/inbox", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    as_user(client, "ga_approver")  # an approver answers, it does not file applications
    assert client.get("/sharing/apply").status_code == 403
    assert client.get("/sharing/applications/01ARZ3NDEKTSV4RRFFQ69G5FAV").status_code == 404
    assert client.get("/sharing/grants/01ARZ3NDEKTSV4RRFFQ69G5FAV").status_code == 404
