"""DCAT-AP 3 export of the open catalog, built with rdflib, paged with Hydra.

Published entries whose open category is ``open`` or ``open_on_request`` are what the open
portal publishes. Each becomes a ``dcat:Dataset`` of one ``dcat:Catalog``:

- ``dct:identifier`` the resource code, ``dct:title`` / ``dct:description`` in Chinese,
  ``dcat:keyword`` the tags, ``dcat:theme`` a term of the EU data-theme vocabulary (and,
  for theme resources, a concept named after the theme);
- ``dct:publisher`` a ``foaf:Agent`` named after the provider department;
- ``dct:accrualPeriodicity`` from the EU frequency vocabulary;
- ``dct:accessRights`` PUBLIC for ``open`` and RESTRICTED for ``open_on_request``;
- ``dct:issued`` (first publication) and ``dct:modified`` (current version);
- a ``dcat:Distribution`` whose ``dcat:accessURL`` is the entry's page on the platform.

The catalog node is also a ``hydra:Collection`` with ``hydra:totalItems`` and a
``hydra:PartialCollectionView`` (first / previous / next / last) for the page returned.
Serialisations carry an inline JSON-LD context and never reference a remote one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlencode

from rdflib import BNode, Graph, Namespace, URIRef
from rdflib import Literal as Lit
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD
from sqlalchemy import Connection

from govshare.catalog.exporter import CatalogRecord, count_published, published_records
from govshare.catalog.model import BaseKind, Classification, OpenCategory, UpdateCycle
from govshare.identity import queries as identity_queries

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
EU = "http://publications.europa.eu/resource/authority/"
FREQ = Namespace(EU + "frequency/")
ACCESS = Namespace(EU + "access-right/")
THEME = Namespace(EU + "data-theme/")
LANGUAGE_ZH = URIRef(EU + "language/ZHO")

# Paths on the platform that the graph points to.
CATALOG_PATH = "/catalog"
DATASET_PATH = "/catalog/resources/{code}"
PROVIDER_PATH = "/catalog/providers/{uscc}"

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500

Format = Literal["jsonld", "ttl"]

FREQUENCY = {
    UpdateCycle.REALTIME: FREQ.UPDATE_CONT,
    UpdateCycle.DAILY: FREQ.DAILY,
    UpdateCycle.WEEKLY: FREQ.WEEKLY,
    UpdateCycle.MONTHLY: FREQ.MONTHLY,
    UpdateCycle.QUARTERLY: FREQ.QUARTERLY,
    UpdateCycle.YEARLY: FREQ.ANNUAL,
    UpdateCycle.IRREGULAR: FREQ.IRREG,
}
ACCESS_RIGHTS = {OpenCategory.OPEN: ACCESS.PUBLIC, OpenCategory.OPEN_ON_REQUEST: ACCESS.RESTRICTED}
# The EU data theme closest to each base database; other resources are GOVE.
BASE_THEMES = {
    BaseKind.POPULATION: THEME.SOCI,
    BaseKind.LEGAL_ENTITY: THEME.ECON,
    BaseKind.GEO: THEME.REGI,
    BaseKind.LICENCE: THEME.GOVE,
    BaseKind.CREDIT: THEME.ECON,
    BaseKind.MACRO_ECONOMY: THEME.ECON,
}

CONTEXT = {
    "dcat": str(DCAT),
    "dct": str(DCTERMS),
    "foaf": str(FOAF),
    "hydra": str(HYDRA),
    "skos": str(SKOS),
    "xsd": str(XSD),
}
MEDIA_TYPES = {"jsonld": "application/ld+json", "ttl": "text/turtle"}


@dataclass(frozen=True)
class DcatPage:
    graph: Graph
    total: int
    page: int
    page_size: int

    @property
    def last_page(self) -> int:
        return max(1, -(-self.total // self.page_size))

    def serialize(self, fmt: Format) -> str:
        if fmt == "jsonld":
            return self.graph.serialize(format="json-ld", context=CONTEXT, indent=2)
        return self.graph.serialize(format="turtle")


def _page_url(base: str, fmt: Format, page: int, size: int, jurisdiction: str | None) -> URIRef:
    params: dict[str, str | int] = {"page": page, "page_size": size}
    if jurisdiction:
        params["jurisdiction"] = jurisdiction
    return URIRef(f"{base}/catalog.{fmt}?{urlencode(params)}")


def dataset_url(base_url: str, code: str) -> str:
    return base_url.rstrip("/") + DATASET_PATH.format(code=quote(code, safe=""))


def catalog_page(
    conn: Connection,
    *,
    base_url: str,
    fmt: Format = "jsonld",
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
    jurisdiction_id: str | None = None,
) -> DcatPage:
    """One page of the open catalog as an RDF graph. ``base_url`` is the platform's address
    (the IRIs point at its pages); ``fmt`` only chooses the extension of the paging links."""
    base = base_url.rstrip("/")
    page = max(1, page)
    page_size = min(max(1, page_size), MAX_PAGE_SIZE)
    total = count_published(conn, jurisdiction_id=jurisdiction_id, open_only=True)
    records = published_records(
        conn,
        jurisdiction_id=jurisdiction_id,
        open_only=True,
        offset=(page - 1) * page_size,
        limit=page_size,
    )
    g = Graph()
    for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("hydra", HYDRA)):
        g.bind(prefix, ns)
    g.bind("skos", SKOS)
    catalog = URIRef(base + CATALOG_PATH)
    g.add((catalog, RDF.type, DCAT.Catalog))
    g.add((catalog, RDF.type, HYDRA.Collection))
    g.add((catalog, DCTERMS.title, Lit("政务信息资源开放目录", lang="zh")))
    g.add((catalog, DCTERMS.title, Lit("Open government data catalog", lang="en")))
    g.add(
        (
            catalog,
            DCTERMS.description,
            Lit("无条件开放和依申请开放的政务信息资源", lang="zh"),
        )
    )
    g.add((catalog, DCTERMS.language, LANGUAGE_ZH))
    g.add((catalog, FOAF.homepage, URIRef(base + CATALOG_PATH)))
    g.add((catalog, DCTERMS.publisher, _catalog_publisher(g, conn, base, jurisdiction_id)))
    g.add((catalog, HYDRA.totalItems, Lit(total)))
    for rec in records:
        g.add((catalog, DCAT.dataset, _dataset(g, base, rec)))
    result = DcatPage(g, total, page, page_size)
    _paging(g, catalog, base, fmt, result, jurisdiction_id)
    return result


def _paging(
    g: Graph, catalog: URIRef, base: str, fmt: Format, p: DcatPage, jurisdiction: str | None
) -> None:
    view = _page_url(base, fmt, p.page, p.page_size, jurisdiction)
    g.add((catalog, HYDRA.view, view))
    g.add((view, RDF.type, HYDRA.PartialCollectionView))
    g.add((view, HYDRA.first, _page_url(base, fmt, 1, p.page_size, jurisdiction)))
    g.add((view, HYDRA.last, _page_url(base, fmt, p.last_page, p.page_size, jurisdiction)))
    if p.page > 1:
        prev = min(p.page - 1, p.last_page)
        g.add((view, HYDRA.previous, _page_url(base, fmt, prev, p.page_size, jurisdiction)))
    if p.page < p.last_page:
        g.add((view, HYDRA.next, _page_url(base, fmt, p.page + 1, p.page_size, jurisdiction)))


def _agent(g: Graph, base: str, name: str, uscc: str) -> URIRef:
    agent = URIRef(base + PROVIDER_PATH.format(uscc=quote(uscc, safe="")))
    g.add((agent, RDF.type, FOAF.Agent))
    g.add((agent, FOAF.name, Lit(name, lang="zh")))
    g.add((agent, DCTERMS.identifier, Lit(uscc)))
    return agent


def _catalog_publisher(
    g: Graph, conn: Connection, base: str, jurisdiction_id: str | None
) -> URIRef | BNode:
    """The data authority of the jurisdiction (the top one when none is given)."""
    if jurisdiction_id is None:
        roots = [j for j in identity_queries.list_jurisdictions(conn) if j.parent_id is None]
        jurisdiction_id = roots[0].id if roots else None
    if jurisdiction_id is not None:
        for d in identity_queries.list_departments(conn, jurisdiction_ids={jurisdiction_id}):
            if d.is_authority:
                return _agent(g, base, d.name, d.uscc)
    node = BNode()
    g.add((node, RDF.type, FOAF.Agent))
    g.add((node, FOAF.name, Lit("政务数据共享交换平台", lang="zh")))
    return node


def _dataset(g: Graph, base: str, rec: CatalogRecord) -> URIRef:
    e = rec.entry
    ds = URIRef(dataset_url(base, rec.code))
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.identifier, Lit(rec.code)))
    g.add((ds, DCTERMS.title, Lit(e.name, lang="zh")))
    g.add((ds, DCTERMS.description, Lit(e.summary or e.name, lang="zh")))
    g.add((ds, DCTERMS.publisher, _agent(g, base, rec.provider.name, rec.provider.uscc)))
    g.add((ds, DCTERMS.language, LANGUAGE_ZH))
    g.add((ds, DCAT.landingPage, ds))
    for tag in e.tags:
        g.add((ds, DCAT.keyword, Lit(tag, lang="zh")))
    if e.update_cycle is not None:
        g.add((ds, DCTERMS.accrualPeriodicity, FREQUENCY[e.update_cycle]))
    g.add((ds, DCTERMS.accessRights, ACCESS_RIGHTS[e.open_category]))
    if e.classification is Classification.BASE and e.base_kind is not None:
        g.add((ds, DCAT.theme, BASE_THEMES[e.base_kind]))
    else:
        g.add((ds, DCAT.theme, THEME.GOVE))
    if e.classification is Classification.THEME and e.theme.strip():
        concept = URIRef(f"{base}{CATALOG_PATH}/themes/{quote(e.theme.strip(), safe='')}")
        g.add((concept, RDF.type, SKOS.Concept))
        g.add((concept, SKOS.prefLabel, Lit(e.theme.strip(), lang="zh")))
        g.add((ds, DCAT.theme, concept))
    if rec.first_published_at is not None:
        g.add((ds, DCTERMS.issued, Lit(rec.first_published_at, datatype=XSD.dateTime)))
    if rec.published_at is not None:
        g.add((ds, DCTERMS.modified, Lit(rec.published_at, datatype=XSD.dateTime)))
    dist = URIRef(f"{ds}#distribution")
    g.add((dist, RDF.type, DCAT.Distribution))
    g.add((dist, DCAT.accessURL, ds))
    g.add((dist, DCTERMS.title, Lit(f"{e.name}（平台访问）", lang="zh")))
    g.add((dist, DCTERMS.accessRights, ACCESS_RIGHTS[e.open_category]))
    if e.format_type.strip():
        g.add((dist, DCTERMS.description, Lit(e.format_type.strip(), lang="zh")))
    if e.open_category is OpenCategory.OPEN_ON_REQUEST and e.open_conditions.strip():
        rights = BNode()  # the conditions on which it is opened (开放条件)
        g.add((rights, RDF.type, DCTERMS.RightsStatement))
        g.add((rights, DCTERMS.description, Lit(e.open_conditions.strip(), lang="zh")))
        g.add((dist, DCTERMS.rights, rights))
    g.add((ds, DCAT.distribution, dist))
    return ds
