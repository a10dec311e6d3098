"""Identity services on both databases: departments, users, roles, client systems."""

from __future__ import annotations

import pytest

from govshare.identity import queries, services
from govshare.identity.model import JurisdictionLevel, PartyRole
from govshare.identity.services import DepartmentInput
from govshare.kernel.actor import Actor, Role
from govshare.kernel.errors import Conflict, Forbidden, ValidationFailed
from govshare.kernel.identifiers import make_uscc
from govshare.platform import Platform
from govshare.storage.engine import Database

SYSTEM = Actor.system("test")


def _authority_actor(db: Database, username: str = "admin") -> Actor:
    with db.read() as conn:
        user = queries.user_by_username(conn, username)
        assert user is not None
        actor = queries.actor_for_user(conn, user.id)
    assert actor is not None
    return actor


@pytest.mark.req("HB-9", "SQ-11", "NX-35")
def test_province_city_county_tiers(db: Database) -> None:
    province = services.create_jurisdiction(
        db,
        actor=SYSTEM,
        code="420000",
        name="湖北省",
        level=JurisdictionLevel.PROVINCE,
        profile="hubei",
    )
    city = services.create_jurisdiction(
        db,
        actor=SYSTEM,
        code="420100",
        name="武汉市",
        level=JurisdictionLevel.CITY,
        profile="hubei",
        parent_id=province.id,
    )
    county = services.create_jurisdiction(
        db,
        actor=SYSTEM,
        code="420102",
        name="江岸区",
        level=JurisdictionLevel.COUNTY,
        profile="hubei",
        parent_id=city.id,
    )
    with db.read() as conn:
        below = queries.descendant_jurisdictions(conn, province.id)
    assert below == {province.id, city.id, county.id}
    with pytest.raises(ValidationFailed):
        services.create_jurisdiction(
            db, actor=SYSTEM, code="4201", name="x", level=JurisdictionLevel.CITY, profile="hubei"
        )
    with pytest.raises(ValidationFailed):
        services.create_jurisdiction(
            db,
            actor=SYSTEM,
            code="420103",
            name="x",
            level=JurisdictionLevel.CITY,
            profile="nowhere",
            known_profiles={"hubei"},
        )


@pytest.mark.req("SQ-11", "NX-35", "NX-11")
def test_city_authority_governs_its_counties(demo_platform: Platform) -> None:
    db = demo_platform.db
    admin = _authority_actor(db)
    with db.read() as conn:
        js = {j.code: j for j in queries.list_jurisdictions(conn)}
    assert {js["321300"].id, js["321322"].id, js["321323"].id} <= admin.governs
    county_dept = services.create_department(
        db,
        DepartmentInput(
            name="沭阳县民政局",
            short_name="沭阳民政",
            uscc=make_uscc("1", "1", "321322", "55501234"),
            jurisdiction_id=js["321322"].id,
        ),
        actor=admin,
    )
    assert county_dept.party_roles == {PartyRole.PROVIDER, PartyRole.CONSUMER}
    # the county's own authority governs only the county
    county_auth = Actor(
        kind=admin.kind, id="x", name="x", roles=admin.roles, governs=frozenset({js["321322"].id})
    )
    with pytest.raises(Forbidden):
        services.create_department(
            db,
            DepartmentInput(
                name="某市局",
                short_name="某",
                uscc=make_uscc("1", "1", "321300", "55501235"),
                jurisdiction_id=js["321300"].id,
            ),
            actor=county_auth,
        )


@pytest.mark.req("NX-11")
def test_four_party_roles(demo_platform: Platform) -> None:
    with demo_platform.db.read() as conn:
        depts = queries.list_departments(conn)
    roles = set().union(*(d.party_roles for d in depts))
    assert roles == {
        PartyRole.AUTHORITY,
        PartyRole.PROVIDER,
        PartyRole.CONSUMER,
        PartyRole.OPERATOR,
    }
    assert set(Role) >= {
        Role.AUTHORITY_ADMIN,
        Role.DEPT_ADMIN,
        Role.CATALOGUER,
        Role.APPROVER,
        Role.DATA_USER,
        Role.AUDITOR,
        Role.OPERATOR,
    }


@pytest.mark.req("SQ-16")
def test_department_uniqueness_and_single_authority(demo_platform: Platform) -> None:
    db = demo_platform.db
    admin = _authority_actor(db)
    with db.read() as conn:
        police = next(d for d in queries.list_departments(conn) if d.short_name == "公安局")
    with pytest.raises(Conflict) as err:
        services.create_department(
            db,
            DepartmentInput(
                name="重复代码局",
                short_name="重复",
                uscc=police.uscc,
                jurisdiction_id=police.jurisdiction_id,
            ),
            actor=admin,
        )
    assert err.value.field == "uscc"
    with pytest.raises(Conflict) as err:
        services.create_department(
            db,
            DepartmentInput(
                name="第二主管部门",
                short_name="二",
                uscc=make_uscc("1", "1", "321300", "55509999"),
                jurisdiction_id=police.jurisdiction_id,
                is_authority=True,
            ),
            actor=admin,
        )
    assert err.value.field == "is_authority"
    with pytest.raises(ValidationFailed) as err:
        services.create_department(
            db,
            DepartmentInput(
                name="电话错误局",
                short_name="电",
                uscc=make_uscc("1", "1", "321300", "55509998"),
                jurisdiction_id=police.jurisdiction_id,
                contact_phone="12345",
            ),
            actor=admin,
        )
    assert err.value.field == "contact_phone"


@pytest.mark.req("SZ-4")
def test_responsibility_registry(demo_platform: Platform) -> None:
    db = demo_platform.db
    with db.read() as conn:
        police = next(d for d in queries.list_departments(conn) if d.short_name == "公安局")
    assert police.responsible_unit and police.responsibility_filed_at is not None
    ga_admin = _authority_actor(db, "ga_admin")
    updated = services.file_responsibility(
        db, police.id, responsible_unit="网安支队", responsible_person="新负责人", actor=ga_admin
    )
    assert updated.responsible_person == "新负责人"
    rs_admin = _authority_actor(db, "rs_admin")
    with pytest.raises(Forbidden):
        services.file_responsibility(
            db, police.id, responsible_unit="x", responsible_person="y", actor=rs_admin
        )


@pytest.mark.req("YX-25", "NX-11")
def test_department_admin_scope(demo_platform: Platform) -> None:
    db = demo_platform.db
    ga_admin = _authority_actor(db, "ga_admin")
    with db.read() as conn:
        depts = {d.short_name: d for d in queries.list_departments(conn)}
    user = services.create_user(
        db,
        actor=ga_admin,
        username="ga_new",
        display_name="新人",
        password="Str0ng-Passw0rd",
        roles=[(depts["公安局"].id, Role.DATA_USER)],
    )
    assert user.roles == ((depts["公安局"].id, Role.DATA_USER),)
    with pytest.raises(Forbidden):
        services.create_user(
            db,
            actor=ga_admin,
            username="rs_new",
            display_name="x",
            password="Str0ng-Passw0rd",
            roles=[(depts["人社局"].id, Role.DATA_USER)],
        )
    with pytest.raises(Forbidden):  # no self-promotion to authority admin
        services.update_user(
            db,
            user.id,
            actor=ga_admin,
            display_name="新人",
            roles=[(depts["数据局"].id, Role.AUTHORITY_ADMIN)],
        )
    with pytest.raises(ValidationFailed):  # operator role only in a technical service unit
        services.update_user(
            db,
            user.id,
            actor=ga_admin,
            display_name="新人",
            roles=[(depts["公安局"].id, Role.OPERATOR)],
        )


@pytest.mark.req("SQ-28", "YX-25")
def test_lockout_counts_and_resets(demo_platform: Platform) -> None:
    from govshare.identity.errors import AccountLocked, LoginFailed

    db = demo_platform.db
    for _ in range(2):
        with pytest.raises(LoginFailed):
            services.authenticate(
                db, username="ga_catalog", password="bad", max_failures=3, lockout_minutes=10
            )
    actor = services.authenticate(
        db, username="ga_catalog", password="Demo-Pass-2026", max_failures=3, lockout_minutes=10
    )
    assert actor.has_role(Role.CATALOGUER)
    for _ in range(2):
        with pytest.raises(LoginFailed):
            services.authenticate(
                db, username="ga_catalog", password="bad", max_failures=3, lockout_minutes=10
            )
    with pytest.raises(AccountLocked):
        services.authenticate(
            db, username="ga_catalog", password="bad", max_failures=3, lockout_minutes=10
        )
    with pytest.raises(AccountLocked):
        services.authenticate(
            db, username="ga_catalog", password="Demo-Pass-2026", max_failures=3, lockout_minutes=10
        )


@pytest.mark.req("SQ-24", "YX-25", "HB-27")
def test_client_secret_stored_hashed_and_revocation(demo_platform: Platform) -> None:
    from sqlalchemy import select

    from govshare.identity.errors import ClientAuthFailed
    from govshare.identity.tables import client_system

    db = demo_platform.db
    rs_admin = _authority_actor(db, "rs_admin")
    created = services.create_client_system(
        db, actor=rs_admin, name="医保结算系统", department_id=rs_admin.department_id or ""
    )
    with db.read() as conn:
        stored = conn.execute(
            select(client_system.c.secret_hash).where(client_system.c.id == created.client.id)
        ).scalar_one()
    assert created.secret not in stored and len(stored) == 64
    token = services.issue_token(
        db,
        demo_platform.keys,
        client_id=created.client.client_id,
        client_secret=created.secret,
        ttl_seconds=60,
    )
    assert token.token.count(".") == 2
    services.revoke_client_system(db, created.client.id, actor=rs_admin, reason="系统下线")
    with pytest.raises(ClientAuthFailed):
        services.issue_token(
            db,
            demo_platform.keys,
            client_id=created.client.client_id,
            client_secret=created.secret,
            ttl_seconds=60,
        )
    with db.read() as conn:
        assert queries.client_actor(conn, created.client.client_id) is None


def test_demo_seed_is_idempotent(demo_platform: Platform) -> None:
    from govshare.audit.queries import AuditFilter, list_entries
    from govshare.demo.seed import seed_demo

    db = demo_platform.db
    with db.read() as conn:
        before = (len(queries.list_departments(conn)), list_entries(conn, AuditFilter()).total)
    summary = seed_demo(db, known_profiles=set(demo_platform.profiles))
    assert not summary.created and summary.departments == before[0]
    with db.read() as conn:
        after = (len(queries.list_departments(conn)), list_entries(conn, AuditFilter()).total)
    assert after == before
    assert 28 <= before[0] <= 40
    assert {login.role for login in summary.logins} >= {r.value for r in Role}


@pytest.mark.req("HB-27", "SQ-25")
def test_periodic_checkpoint_signs_only_when_the_chain_moved(demo_platform: Platform) -> None:
    from govshare.audit.services import checkpoint_if_moved
    from govshare.audit.verify import verify_chain

    db, keys = demo_platform.db, demo_platform.keys
    first = checkpoint_if_moved(db, keys, actor=SYSTEM)
    assert first is not None
    assert checkpoint_if_moved(db, keys, actor=SYSTEM) is None  # nothing new since
    services.record_logout(db, actor=_authority_actor(db))
    second = checkpoint_if_moved(db, keys, actor=SYSTEM)
    assert second is not None and second.seq > first.seq
    report = verify_chain(db, keys)
    assert report.ok and report.checkpoints == 2


@pytest.mark.req("NX-52", "SQ-28")
def test_private_key_file_is_owner_only(demo_platform: Platform) -> None:
    import stat

    from govshare.audit.keys import PRIVATE_FILE

    key_file = demo_platform.settings.keys_dir / PRIVATE_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(demo_platform.settings.keys_dir.stat().st_mode) == 0o700
