"""The catalog JSON API (/api/v1/catalog): search, entries and versions, the review
workflow, change triggers, annual maintenance, releases, demand and duty lists.

Each route parses its input, calls one catalog service (or reads through catalog.queries)
and renders JSON; the rules live in catalog.validation and catalog.services. Drafts,
submitted and returned versions are visible only to the provider department's catalog
staff and to the authority governing it; anyone else gets 404, as if they did not exist.
"""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from govshare.catalog import collection, queries, services, upkeep
from govshare.catalog.model import (
    BaseKind,
    Classification,
    CollectionBasis,
    DataItemInput,
    DeliveryMode,
    EntryInput,
    FormatCategory,
    IdentifierKind,
    ItemType,
    OpenCategory,
    ResourceStatus,
    ResourceVersion,
    ReviewDecision,
    ShareCategory,
    UpdateCycle,
    VersionState,
)
from govshare.catalog.tables import catalog_release
from govshare.identity import queries as identity_queries
from govshare.identity.model import Department
from govshare.identity.policy import Permission, can
from govshare.kernel.actor import Actor
from govshare.kernel.clock import local_date, utcnow
from govshare.kernel.errors import NotFound, ValidationFailed
from govshare.web.deps import PlatformDep, policy
from govshare.web.routes.api import ERRORS

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"], responses=ERRORS)

ViewCatalog = Annotated[Actor, policy(Permission.VIEW_CATALOG)]
EditCatalog = Annotated[Actor, policy(Permission.EDIT_CATALOG)]
ReviewCatalog = Annotated[Actor, policy(Permission.REVIEW_CATALOG)]
FileDemand = Annotated[Actor, policy(Permission.FILE_DEMAND)]

PUBLIC_STATES = {VersionState.PUBLISHED, VersionState.SUPERSEDED}
TEXT = 20_000  # longest free text accepted in a field stored as TEXT


def _today() -> date:
    return local_date(utcnow())


# Visibility ----------------------------------------------------------------------------
def sees_work_of(actor: Actor, dept: Department) -> bool:
    """May ``actor`` see ``dept``'s unpublished catalog work (drafts, submissions, returns)?
    Its own catalog staff may, and so may the authority governing its jurisdiction."""
    return can(
        actor, Permission.EDIT_CATALOG, department_id=dept.id, jurisdiction_id=dept.jurisdiction_id
    ) or can(actor, Permission.REVIEW_CATALOG, jurisdiction_id=dept.jurisdiction_id)


def _visible_version(conn: Connection, actor: Actor, version: ResourceVersion) -> bool:
    if version.state in PUBLIC_STATES:
        return True
    dept = identity_queries.get_department(conn, version.entry.provider_department_id)
    return sees_work_of(actor, dept)


def _version_or_404(conn: Connection, actor: Actor, version_id: str) -> ResourceVersion:
    version = queries.get_version(conn, version_id)
    if not _visible_version(conn, actor, version):
        raise NotFound("版本不存在", "no such version")
    return version


def _departments_where(conn: Connection, actor: Actor, *permissions: Permission) -> set[str]:
    """Departments on which ``actor`` holds one of ``permissions`` (REVIEW_CATALOG is
    checked on the department's jurisdiction)."""
    out = set()
    for d in identity_queries.list_departments(conn):
        for p in permissions:
            if p is Permission.REVIEW_CATALOG:
                ok = can(actor, p, jurisdiction_id=d.jurisdiction_id)
            else:
                ok = can(actor, p, department_id=d.id, jurisdiction_id=d.jurisdiction_id)
            if ok:
                out.add(d.id)
                break
    return out


def _home_jurisdiction(conn: Connection, actor: Actor) -> str:
    if actor.department_id is None:
        raise ValidationFailed("请指明行政区划", "name the jurisdiction", field="jurisdiction_id")
    return identity_queries.get_department(conn, actor.department_id).jurisdiction_id


# Entry models ------------------------------------------------------------------------
class DataItemBody(BaseModel):
    """信息项: one field of the resource."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=100, description="信息项名称")
    code: str = Field(max_length=64, description="英文代码: lower-case letters, digits, _")
    type: ItemType = ItemType.STRING
    length: int | None = None
    description: str = Field(default="", max_length=TEXT)
    required: bool = False
    identifier: IdentifierKind = IdentifierKind.NONE
    sensitivity: str = Field(
        default="none", max_length=20, description="masking kind: id_card, name, mobile, …"
    )
    code_list: str = Field(default="", max_length=500)
    base_item: bool = False
    collection_basis: CollectionBasis = CollectionBasis.NONE
    collection_basis_text: str = Field(default="", max_length=500)


class EntryBody(BaseModel):
    """One version of a catalog entry, as the 2017 catalog guide describes it."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200, description="资源名称")
    classification: Classification
    provider_department_id: str = Field(max_length=26)
    summary: str = Field(default="", max_length=TEXT)
    base_kind: BaseKind | None = None
    theme: str = Field(default="", max_length=100)
    internal_division: str = Field(default="", max_length=100)
    format_category: FormatCategory | None = None
    format_type: str = Field(default="", max_length=100)
    update_cycle: UpdateCycle | None = None
    timeliness: str = Field(default="", max_length=500)
    share_category: ShareCategory | None = None
    share_scope: str = Field(default="", max_length=500)
    share_conditions: str = Field(default="", max_length=TEXT)
    share_basis_type: str = Field(default="", max_length=40)
    share_basis_text: str = Field(default="", max_length=TEXT)
    share_basis_ref: str = Field(default="", max_length=500)
    not_shared_reasons: str = Field(default="", max_length=TEXT)
    head_sign_off: str = Field(default="", max_length=500)
    delivery_modes: list[DeliveryMode] = Field(default_factory=list, max_length=5)
    usage_requirements: str = Field(default="", max_length=TEXT)
    dedicated_department_ids: list[str] = Field(default_factory=list, max_length=200)
    open_category: OpenCategory = OpenCategory.CLOSED
    open_conditions: str = Field(default="", max_length=TEXT)
    open_basis: str = Field(default="", max_length=TEXT)
    open_review: str = Field(default="", max_length=TEXT)
    involves_state_secret: bool = False
    confidentiality_review: str = Field(default="", max_length=500)
    grade: str = Field(default="", max_length=40)
    release_scenarios: str = Field(default="", max_length=TEXT)
    release_consumers: str = Field(default="", max_length=TEXT)
    release_region: str = Field(default="", max_length=500)
    release_knowledge_scope: str = Field(default="", max_length=500)
    release_usage_scope: str = Field(default="", max_length=500)
    security_agreement_required: bool = False
    controlled_parameters: str = Field(default="", max_length=TEXT)
    tags: list[str] = Field(default_factory=list, max_length=50)
    related_codes: list[str] = Field(default_factory=list, max_length=200)
    single_source_justification: str = Field(default="", max_length=TEXT)
    data_items: list[DataItemBody] = Field(default_factory=list, max_length=2000)

    def to_entry(self) -> EntryInput:
        values: dict[str, Any] = {
            f.name: getattr(self, f.name) for f in fields(EntryInput) if f.name != "data_items"
        }
        for key, value in values.items():
            if isinstance(value, list):
                values[key] = tuple(value)
        items = tuple(DataItemInput(**i.model_dump()) for i in self.data_items)
        return EntryInput(**values, data_items=items)

    @classmethod
    def of(cls, entry: EntryInput) -> EntryBody:
        values = {f.name: getattr(entry, f.name) for f in fields(EntryInput)}
        values["data_items"] = [
            {f.name: getattr(i, f.name) for f in fields(DataItemInput)} for i in entry.data_items
        ]
        return cls.model_validate(values)


class VersionOut(BaseModel):
    id: str
    resource_id: str
    code: str
    version_no: int
    state: VersionState
    created_by: str
    created_at: datetime
    submitted_at: datetime | None
    review_due: date | None
    review_due_provisional: bool
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_comment: str
    published_at: datetime | None
    overlaps: list[str] = Field(description="一数一源: codes of resources already providing items")
    entry: EntryBody

    @classmethod
    def of(cls, v: ResourceVersion) -> VersionOut:
        return cls(
            id=v.id,
            resource_id=v.resource_id,
            code=v.code,
            version_no=v.version_no,
            state=v.state,
            created_by=v.created_by,
            created_at=v.created_at,
            submitted_at=v.submitted_at,
            review_due=v.review_due,
            review_due_provisional=v.review_due_provisional,
            reviewed_by=v.reviewed_by,
            reviewed_at=v.reviewed_at,
            review_comment=v.review_comment,
            published_at=v.published_at,
            overlaps=list(v.overlaps),
            entry=EntryBody.of(v.entry),
        )


class VersionSummary(BaseModel):
    id: str
    version_no: int
    state: VersionState
    name: str
    created_at: datetime
    submitted_at: datetime | None
    published_at: datetime | None

    @classmethod
    def of(cls, v: ResourceVersion) -> VersionSummary:
        return cls(
            id=v.id,
            version_no=v.version_no,
            state=v.state,
            name=v.entry.name,
            created_at=v.created_at,
            submitted_at=v.submitted_at,
            published_at=v.published_at,
        )


class DepartmentRef(BaseModel):
    id: str
    name: str
    short_name: str
    jurisdiction_id: str


class ResourceOut(BaseModel):
    id: str
    code: str
    status: ResourceStatus
    provider: DepartmentRef
    published: VersionOut | None
    draft_version_id: str | None
    retired_reason: str
    replacement_resource_id: str | None
    transition_ends_on: date | None
    versions: list[VersionSummary]


# Search --------------------------------------------------------------------------------
class SearchHitOut(BaseModel):
    resource_id: str
    code: str
    name: str
    provider_department_id: str
    classification: str
    share_category: str
    open_category: str
    format_category: str
    update_cycle: str
    status: str
    summary: str
    published_at: datetime


class SearchOut(BaseModel):
    hits: list[SearchHitOut]
    total: int
    page: int
    page_size: int
    pages: int
    facets: dict[str, dict[str, int]]


@router.get("/resources", response_model=SearchOut)
def search(
    platform: PlatformDep,
    actor: ViewCatalog,
    q: Annotated[str, Query(max_length=200)] = "",
    provider_department_id: str | None = None,
    classification: Classification | None = None,
    share_category: ShareCategory | None = None,
    open_category: OpenCategory | None = None,
    format_category: FormatCategory | None = None,
    update_cycle: UpdateCycle | None = None,
    delivery_mode: DeliveryMode | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchOut:
    """Full-text search (Chinese, segmented with jieba) over the published catalog, with
    facet counts; exact-name hits come first."""
    query = queries.SearchQuery(
        q=q,
        provider_department_id=provider_department_id,
        classification=classification.value if classification else None,
        share_category=share_category.value if share_category else None,
        open_category=open_category.value if open_category else None,
        format_category=format_category.value if format_category else None,
        update_cycle=update_cycle.value if update_cycle else None,
        delivery_mode=delivery_mode.value if delivery_mode else None,
        page=page,
        page_size=page_size,
    )
    with platform.db.read() as conn:
        result = queries.search_catalog(conn, query)
    return SearchOut(
        hits=[SearchHitOut(**{f.name: getattr(h, f.name) for f in fields(h)}) for h in result.hits],
        total=result.total,
        page=result.page,
        page_size=result.page_size,
        pages=result.pages,
        facets=result.facets,
    )


# Entries and versions ------------------------------------------------------------------
@router.get("/resources/{resource_id}", response_model=ResourceOut)
def get_resource(resource_id: str, platform: PlatformDep, actor: ViewCatalog) -> ResourceOut:
    """The published entry with its data items, provider, status and version list."""
    with platform.db.read() as conn:
        res = queries.get_resource(conn, resource_id)
        dept = identity_queries.get_department(conn, res.provider_department_id)
        insider = sees_work_of(actor, dept)
        if res.published_version_id is None and not insider:
            raise NotFound("信息资源不存在", "no such resource")
        versions = [
            v for v in queries.history(conn, resource_id) if insider or v.state in PUBLIC_STATES
        ]
    published = next((v for v in versions if v.id == res.published_version_id), None)
    return ResourceOut(
        id=res.id,
        code=res.code,
        status=res.status,
        provider=DepartmentRef(
            id=dept.id,
            name=dept.name,
            short_name=dept.short_name,
            jurisdiction_id=dept.jurisdiction_id,
        ),
        published=VersionOut.of(published) if published else None,
        draft_version_id=res.draft_version_id if insider else None,
        retired_reason=res.retired_reason,
        replacement_resource_id=res.replacement_resource_id,
        transition_ends_on=res.transition_ends_on,
        versions=[VersionSummary.of(v) for v in versions],
    )


@router.get("/resources/{resource_id}/versions", response_model=list[VersionSummary])
def list_versions(
    resource_id: str, platform: PlatformDep, actor: ViewCatalog
) -> list[VersionSummary]:
    """Every version, newest first (nothing is overwritten)."""
    with platform.db.read() as conn:
        versions = [
            v for v in queries.history(conn, resource_id) if _visible_version(conn, actor, v)
        ]
    if not versions:
        raise NotFound("信息资源不存在", "no such resource")
    return [VersionSummary.of(v) for v in versions]


@router.get("/versions/{version_id}", response_model=VersionOut)
def get_version(version_id: str, platform: PlatformDep, actor: ViewCatalog) -> VersionOut:
    with platform.db.read() as conn:
        return VersionOut.of(_version_or_404(conn, actor, version_id))


class FieldChangeOut(BaseModel):
    field: str
    before: str
    after: str


class DiffOut(BaseModel):
    resource_id: str
    from_version: int
    to_version: int
    changes: list[FieldChangeOut]


@router.get("/resources/{resource_id}/diff", response_model=DiffOut)
def diff(
    resource_id: str,
    platform: PlatformDep,
    actor: ViewCatalog,
    from_no: Annotated[int, Query(alias="from", ge=1)],
    to_no: Annotated[int, Query(alias="to", ge=1)],
) -> DiffOut:
    """Field-by-field changes from version ``from`` to version ``to`` (data items included)."""
    with platform.db.read() as conn:
        by_no = {
            v.version_no: v
            for v in queries.history(conn, resource_id)
            if _visible_version(conn, actor, v)
        }
    if from_no not in by_no or to_no not in by_no:
        raise NotFound("版本不存在", "no such version")
    changes = queries.diff(by_no[from_no], by_no[to_no])
    return DiffOut(
        resource_id=resource_id,
        from_version=from_no,
        to_version=to_no,
        changes=[FieldChangeOut(field=c.field, before=c.before, after=c.after) for c in changes],
    )


@router.post("/resources", response_model=VersionOut, status_code=201)
def create_resource(body: EntryBody, platform: PlatformDep, actor: EditCatalog) -> VersionOut:
    """A new resource and its first (draft) version; the resource code is assigned now."""
    version = services.create_draft(platform.db, platform.profiles, body.to_entry(), actor=actor)
    return VersionOut.of(version)


@router.put("/versions/{version_id}", response_model=VersionOut)
def update_version(
    version_id: str, body: EntryBody, platform: PlatformDep, actor: EditCatalog
) -> VersionOut:
    """Replace a draft or returned version's content (a published version never changes)."""
    version = services.update_draft(
        platform.db, platform.profiles, version_id, body.to_entry(), actor=actor
    )
    return VersionOut.of(version)


@router.post("/resources/{resource_id}/revisions", response_model=VersionOut, status_code=201)
def start_revision(resource_id: str, platform: PlatformDep, actor: EditCatalog) -> VersionOut:
    """A new draft version copied from the published one (or the open draft, if any)."""
    return VersionOut.of(services.start_revision(platform.db, resource_id, actor=actor))


class SubmitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    change_trigger_id: str | None = Field(
        default=None, max_length=26, description="the change of law or functions this answers"
    )


@router.post("/versions/{version_id}/submit", response_model=VersionOut)
def submit(
    version_id: str, platform: PlatformDep, actor: EditCatalog, body: SubmitIn | None = None
) -> VersionOut:
    """Submit for the authority's review; completeness and 一数一源 are checked here."""
    version = services.submit(
        platform.db,
        platform.profiles,
        version_id,
        actor=actor,
        change_trigger_id=body.change_trigger_id if body else None,
    )
    return VersionOut.of(version)


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: ReviewDecision
    comment: str = Field(default="", max_length=TEXT)


@router.post("/versions/{version_id}/review", response_model=VersionOut)
def review(
    version_id: str, body: ReviewIn, platform: PlatformDep, actor: ReviewCatalog
) -> VersionOut:
    """The authority approves (publishes) or returns the version with its reasons."""
    version = services.review(
        platform.db, version_id, body.decision, actor=actor, comment=body.comment
    )
    return VersionOut.of(version)


class RetireIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=TEXT)
    replacement_resource_id: str | None = Field(default=None, max_length=26)
    transition_days: int | None = Field(default=None, ge=0, le=3650)


class RetirementOut(BaseModel):
    resource_id: str
    transition_ends_on: date
    replacement_code: str | None


@router.post("/resources/{resource_id}/retire", response_model=RetirementOut)
def retire(
    resource_id: str, body: RetireIn, platform: PlatformDep, actor: EditCatalog
) -> RetirementOut:
    """Retire with a replacement or a reason; the transition period follows the profile."""
    done = services.retire(
        platform.db,
        platform.profiles,
        resource_id,
        actor=actor,
        reason=body.reason,
        replacement_resource_id=body.replacement_resource_id,
        transition_days=body.transition_days,
    )
    return RetirementOut(
        resource_id=done.resource_id,
        transition_ends_on=done.transition_ends_on,
        replacement_code=done.replacement_code,
    )


class QueueRowOut(BaseModel):
    version_id: str
    resource_id: str
    code: str
    version_no: int
    name: str
    state: VersionState
    provider_department_id: str
    submitted_at: datetime | None
    review_due: date | None
    review_due_provisional: bool
    overdue: bool


@router.get("/review-queue", response_model=list[QueueRowOut])
def review_queue(platform: PlatformDep, actor: ReviewCatalog) -> list[QueueRowOut]:
    """Submitted versions awaiting the authority's review, earliest deadline first."""
    today = _today()
    with platform.db.read() as conn:
        depts = identity_queries.list_departments(conn, jurisdiction_ids=set(actor.governs))
        rows = queries.review_queue(conn, {d.id for d in depts})
    return [
        QueueRowOut(
            version_id=r.version_id,
            resource_id=r.resource_id,
            code=r.code,
            version_no=r.version_no,
            name=r.name,
            state=VersionState(r.state),
            provider_department_id=r.provider_department_id,
            submitted_at=r.submitted_at,
            review_due=r.review_due,
            review_due_provisional=r.review_due_provisional,
            overdue=r.review_due is not None and today > r.review_due,
        )
        for r in rows
    ]


# Change triggers (SQ-8, SZ-7, NX-22, NX-23, YX-13) -------------------------------------
class ChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    department_id: str = Field(max_length=26)
    kind: Literal["law", "functions", "content", "demand"]
    occurred_on: date
    description: str = Field(max_length=TEXT)
    written_notice_ref: str = Field(default="", max_length=500)


class ChangeOut(BaseModel):
    id: str
    department_id: str
    kind: str
    occurred_on: date
    description: str
    written_notice_ref: str
    update_due: date | None
    update_due_provisional: bool
    report_due: date | None
    reported_at: datetime | None
    resolved_at: datetime | None
    resolution: str
    overdue: bool
    report_overdue: bool

    @classmethod
    def of(cls, t: queries.ChangeTrigger, today: date) -> ChangeOut:
        values = {f.name: getattr(t, f.name) for f in fields(t)}
        return cls(**values, overdue=t.overdue(today), report_overdue=t.report_overdue(today))


@router.post("/changes", response_model=ChangeOut, status_code=201)
def record_change(body: ChangeIn, platform: PlatformDep, actor: EditCatalog) -> ChangeOut:
    """Record a change of law, functions or content; the catalog update falls due by the
    profile's deadline (in working days)."""
    tid = upkeep.record_change(platform.db, platform.profiles, actor=actor, **body.model_dump())
    with platform.db.read() as conn:
        return ChangeOut.of(queries.get_change_trigger(conn, tid), _today())


@router.get("/changes", response_model=list[ChangeOut])
def list_changes(
    platform: PlatformDep,
    actor: ViewCatalog,
    department_id: str | None = None,
    open_only: bool = False,
) -> list[ChangeOut]:
    """Change triggers of the departments the caller catalogs for or governs."""
    today = _today()
    with platform.db.read() as conn:
        visible = _departments_where(
            conn, actor, Permission.EDIT_CATALOG, Permission.REVIEW_CATALOG
        )
        if department_id is not None:
            visible &= {department_id}
        rows = queries.change_triggers(conn, visible, open_only=open_only)
    return [ChangeOut.of(t, today) for t in rows]


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resolution: str = Field(max_length=TEXT)


def _change_out(platform: PlatformDep, trigger_id: str) -> ChangeOut:
    with platform.db.read() as conn:
        return ChangeOut.of(queries.get_change_trigger(conn, trigger_id), _today())


@router.post("/changes/{trigger_id}/resolve", response_model=ChangeOut)
def resolve_change(
    trigger_id: str, body: ResolveIn, platform: PlatformDep, actor: EditCatalog
) -> ChangeOut:
    """Close a change that needed no catalog update, stating why."""
    upkeep.resolve_change(platform.db, trigger_id, actor=actor, resolution=body.resolution)
    return _change_out(platform, trigger_id)


@router.post("/changes/{trigger_id}/report", response_model=ChangeOut)
def report_change(trigger_id: str, platform: PlatformDep, actor: ReviewCatalog) -> ChangeOut:
    """NX-23: the county's change reported to the city authority for the record."""
    upkeep.report_change(platform.db, trigger_id, actor=actor)
    return _change_out(platform, trigger_id)


# Annual maintenance (SQ-7) -------------------------------------------------------------
class MaintenanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    department_id: str = Field(max_length=26)
    completed_on: date
    note: str = Field(default="", max_length=TEXT)


class MaintenanceOut(BaseModel):
    department_id: str
    year: int
    completed_on: date | None
    required: bool
    overdue: bool


class RecordedOut(BaseModel):
    id: str


@router.post("/maintenance", response_model=RecordedOut, status_code=201)
def record_maintenance(
    body: MaintenanceIn, platform: PlatformDep, actor: EditCatalog
) -> RecordedOut:
    """Record a department's full catalog maintenance (SQ-7: at least once a year)."""
    mid = upkeep.record_maintenance(platform.db, actor=actor, **body.model_dump())
    return RecordedOut(id=mid)


@router.get("/maintenance", response_model=list[MaintenanceOut])
def maintenance(
    platform: PlatformDep,
    actor: ViewCatalog,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> list[MaintenanceOut]:
    """Each visible department's full maintenance in ``year``; overdue once the year has
    ended without one, where the profile requires it."""
    today = _today()
    year = year or today.year
    with platform.db.read() as conn:
        visible = _departments_where(
            conn, actor, Permission.EDIT_CATALOG, Permission.REVIEW_CATALOG
        )
        depts = {d.id: d for d in identity_queries.list_departments(conn) if d.id in visible}
        profiles = {
            j.id: platform.profiles.get(j.profile) or platform.profiles["default"]
            for j in identity_queries.list_jurisdictions(conn)
        }
        statuses = queries.maintenance_status(conn, sorted(depts), year)
    out = []
    for s in statuses:
        per_year = profiles[depts[s.department_id].jurisdiction_id].catalog
        required = per_year.min_full_maintenance_per_year is not None
        out.append(
            MaintenanceOut(
                department_id=s.department_id,
                year=s.year,
                completed_on=s.completed_on,
                required=required,
                overdue=required and s.overdue(today),
            )
        )
    return out


# Releases (SZ-8, NX-18, NX-20) ---------------------------------------------------------
class ReleaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    jurisdiction_id: str | None = Field(
        default=None, max_length=26, description="defaults to the caller's own jurisdiction"
    )
    title: str = Field(default="", max_length=200)


class FilingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filed_with: str = Field(max_length=200, description="e.g. 省级平台 or the city authority")
    filing_ref: str = Field(max_length=200)


class ReleaseEntryOut(BaseModel):
    code: str
    version_no: int


class ReleaseOut(BaseModel):
    id: str
    jurisdiction_id: str
    number: int
    title: str
    entry_count: int
    sha256: str
    published_by: str
    published_at: datetime
    filed_with: str
    filing_ref: str
    filed_at: datetime | None
    entries: list[ReleaseEntryOut] | None = None

    @classmethod
    def of(cls, row: Any, *, with_entries: bool = False) -> ReleaseOut:
        m = row._mapping
        values = {k: m[k] for k in cls.model_fields if k != "entries"}
        if with_entries:
            values["entries"] = [
                ReleaseEntryOut(code=c, version_no=n) for c, n in json.loads(m["entries"])
            ]
        return cls(**values)


def _release(conn: Connection, release_id: str) -> Any:
    row = conn.execute(catalog_release.select().where(catalog_release.c.id == release_id)).first()
    if row is None:
        raise NotFound("目录版本不存在", "no such release")
    return row


@router.post("/releases", response_model=ReleaseOut, status_code=201)
def publish_release(body: ReleaseIn, platform: PlatformDep, actor: ReviewCatalog) -> ReleaseOut:
    """Compile the jurisdiction's published catalog (with its counties') into a numbered
    release that is kept for good."""
    with platform.db.read() as conn:
        jurisdiction_id = body.jurisdiction_id or _home_jurisdiction(conn, actor)
    rid = upkeep.publish_release(
        platform.db, actor=actor, jurisdiction_id=jurisdiction_id, title=body.title
    )
    with platform.db.read() as conn:
        return ReleaseOut.of(_release(conn, rid), with_entries=True)


@router.post("/releases/{release_id}/filing", response_model=ReleaseOut)
def file_release(
    release_id: str, body: FilingIn, platform: PlatformDep, actor: ReviewCatalog
) -> ReleaseOut:
    """Record the filing with the higher level (SZ-8: the province; NX-20: the city)."""
    upkeep.file_release(
        platform.db,
        release_id,
        actor=actor,
        filed_with=body.filed_with,
        filing_ref=body.filing_ref,
    )
    with platform.db.read() as conn:
        return ReleaseOut.of(_release(conn, release_id))


@router.get("/releases", response_model=list[ReleaseOut])
def list_releases(
    platform: PlatformDep, actor: ViewCatalog, jurisdiction_id: str | None = None
) -> list[ReleaseOut]:
    """Every release of the jurisdiction (default: the caller's), newest first."""
    with platform.db.read() as conn:
        rows = queries.list_releases(conn, jurisdiction_id or _home_jurisdiction(conn, actor))
    return [ReleaseOut.of(r) for r in rows]


@router.get("/releases/{release_id}", response_model=ReleaseOut)
def get_release(release_id: str, platform: PlatformDep, actor: ViewCatalog) -> ReleaseOut:
    """One release with its entries (resource code and version number)."""
    with platform.db.read() as conn:
        return ReleaseOut.of(_release(conn, release_id), with_entries=True)


# Demand and duty lists (NX-19, NX-21, YX-19) -------------------------------------------
class DemandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    consumer_department_id: str | None = Field(
        default=None, max_length=26, description="defaults to the caller's department"
    )
    title: str = Field(max_length=200)
    duty: str = Field(max_length=TEXT, description="the duty (履职事项) the data serves")
    items: list[Annotated[str, Field(max_length=100)]] = Field(max_length=500)


class SuggestionOut(BaseModel):
    resource_id: str
    code: str
    name: str
    provider_department_id: str
    items: list[str]


class DemandOut(BaseModel):
    id: str
    consumer_department_id: str
    title: str
    duty: str
    items: list[str]
    status: str
    matched_resource_id: str | None
    created_at: datetime
    suggestions: list[SuggestionOut] | None = None

    @classmethod
    def of(cls, d: queries.Demand, suggestions: list[queries.Overlap] | None = None) -> DemandOut:
        values: dict[str, Any] = {f.name: getattr(d, f.name) for f in fields(d)}
        values["items"] = list(d.items)
        if suggestions is not None:
            values["suggestions"] = [
                SuggestionOut(
                    resource_id=s.resource_id,
                    code=s.code,
                    name=s.name,
                    provider_department_id=s.provider_department_id,
                    items=list(s.items),
                )
                for s in suggestions
            ]
        return cls(**values)


@router.post("/demands", response_model=DemandOut, status_code=201)
def file_demand(body: DemandIn, platform: PlatformDep, actor: FileDemand) -> DemandOut:
    """File a demand (需求清单); the answer suggests published resources that match."""
    consumer = body.consumer_department_id or actor.department_id
    if consumer is None:
        raise ValidationFailed(
            "请指明使用部门", "name the consumer department", field="consumer_department_id"
        )
    did = collection.file_demand(
        platform.db,
        actor=actor,
        consumer_department_id=consumer,
        title=body.title,
        duty_text=body.duty,
        items=body.items,
    )
    with platform.db.read() as conn:
        d = queries.get_demand(conn, did)
        return DemandOut.of(d, queries.suggest_for_demand(conn, d))


@router.get("/demands", response_model=list[DemandOut])
def list_demands(platform: PlatformDep, actor: ViewCatalog) -> list[DemandOut]:
    """Demands of the caller's departments, or all those the caller's authority governs."""
    with platform.db.read() as conn:
        visible = _departments_where(conn, actor, Permission.FILE_DEMAND, Permission.REVIEW_CATALOG)
        return [DemandOut.of(d) for d in queries.list_demands(conn, visible)]


class MatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resource_id: str = Field(max_length=26)


@router.post("/demands/{demand_id}/match", response_model=DemandOut)
def match_demand(
    demand_id: str, body: MatchIn, platform: PlatformDep, actor: FileDemand
) -> DemandOut:
    """The demand is met by a published resource."""
    collection.match_demand(platform.db, demand_id, body.resource_id, actor=actor)
    with platform.db.read() as conn:
        return DemandOut.of(queries.get_demand(conn, demand_id))


class DutyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    producer_department_id: str = Field(max_length=26)
    title: str = Field(max_length=200)
    items: list[Annotated[str, Field(max_length=100)]] = Field(max_length=500)
    due_on: date
    demand_id: str | None = Field(default=None, max_length=26)


class DutyOut(BaseModel):
    id: str
    demand_id: str | None
    producer_department_id: str
    title: str
    items: list[str]
    due_on: date
    status: str
    resource_id: str | None
    fulfilled_at: datetime | None
    overdue: bool

    @classmethod
    def of(cls, d: queries.Duty, today: date) -> DutyOut:
        values: dict[str, Any] = {f.name: getattr(d, f.name) for f in fields(d)}
        values["items"] = list(d.items)
        return cls(**values, overdue=d.overdue(today))


def _duty_out(conn: Connection, duty_id: str) -> DutyOut:
    found = next((d for d in queries.list_duties(conn) if d.id == duty_id), None)
    if found is None:
        raise NotFound("责任事项不存在", "no such duty")
    return DutyOut.of(found, _today())


@router.post("/duties", response_model=DutyOut, status_code=201)
def assign_duty(body: DutyIn, platform: PlatformDep, actor: ReviewCatalog) -> DutyOut:
    """The authority puts an entry on a producer's duty list (责任清单), with a due date."""
    did = collection.assign_duty(platform.db, actor=actor, **body.model_dump())
    with platform.db.read() as conn:
        return _duty_out(conn, did)


@router.get("/duties", response_model=list[DutyOut])
def list_duties(platform: PlatformDep, actor: ViewCatalog) -> list[DutyOut]:
    """Duties visible to both sides: the producer, the consumer whose demand it answers,
    and the authority."""
    today = _today()
    with platform.db.read() as conn:
        producers = _departments_where(
            conn, actor, Permission.EDIT_CATALOG, Permission.REVIEW_CATALOG
        )
        consumers = _departments_where(conn, actor, Permission.FILE_DEMAND)
        mine = {d.id for d in queries.list_demands(conn, consumers)}
        rows = [
            d
            for d in queries.list_duties(conn)
            if d.producer_department_id in producers or d.demand_id in mine
        ]
    return [DutyOut.of(d, today) for d in rows]


@router.post("/duties/{duty_id}/fulfil", response_model=DutyOut)
def fulfil_duty(duty_id: str, body: MatchIn, platform: PlatformDep, actor: EditCatalog) -> DutyOut:
    """The producer fulfils the duty with one of its published resources."""
    collection.fulfil_duty(platform.db, duty_id, body.resource_id, actor=actor)
    with platform.db.read() as conn:
        return _duty_out(conn, duty_id)


class JointShareIn(BaseModel):
    department_id: str = Field(max_length=26)
    items: list[str] = Field(min_length=1, max_length=500)
    duty: str = Field(max_length=2000)


class JointCollectionIn(BaseModel):
    shares: list[JointShareIn] = Field(min_length=2, max_length=50)


class JointShareOut(BaseModel):
    group_id: str
    department_id: str
    items: list[str]
    duty: str
    confirmed: bool


def _joint_out(platform: PlatformDep, resource_id: str) -> list[JointShareOut]:
    with platform.db.read() as conn:
        rows = queries.joint_collection_of(conn, resource_id)
    return [
        JointShareOut(
            group_id=r.group_id,
            department_id=r.department_id,
            items=list(r.items),
            duty=r.duty,
            confirmed=r.confirmed_at is not None,
        )
        for r in rows
    ]


@router.post(
    "/resources/{resource_id}/joint-collection", response_model=list[JointShareOut], status_code=201
)
def register_joint_collection(
    resource_id: str, body: JointCollectionIn, platform: PlatformDep, actor: EditCatalog
) -> list[JointShareOut]:
    """Register the agreed division of collection duties for jointly collected data (NX-26)."""
    collection.register_joint_collection(
        platform.db,
        resource_id,
        [collection.JointShare(s.department_id, tuple(s.items), s.duty) for s in body.shares],
        actor=actor,
    )
    return _joint_out(platform, resource_id)


@router.get("/resources/{resource_id}/joint-collection", response_model=list[JointShareOut])
def joint_collection(
    resource_id: str, platform: PlatformDep, actor: ViewCatalog
) -> list[JointShareOut]:
    return _joint_out(platform, resource_id)


class ConfirmShareIn(BaseModel):
    department_id: str = Field(max_length=26)


@router.post("/joint-collections/{group_id}/confirm", status_code=204)
def confirm_joint_share(
    group_id: str, body: ConfirmShareIn, platform: PlatformDep, actor: EditCatalog
) -> None:
    """A partner department confirms its part of the division."""
    collection.confirm_joint_share(platform.db, group_id, body.department_id, actor=actor)
