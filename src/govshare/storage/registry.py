"""Imports every domain's tables so that the shared MetaData is complete."""

from __future__ import annotations

from sqlalchemy import MetaData


def all_tables() -> MetaData:
    from govshare.aggregation import crosscheck_tables as _crosscheck  # noqa: F401
    from govshare.aggregation import sources_tables as _sources  # noqa: F401
    from govshare.aggregation import tables as _aggregation  # noqa: F401
    from govshare.audit import tables as _audit  # noqa: F401
    from govshare.catalog import tables as _catalog  # noqa: F401
    from govshare.delivery import file_tables as _delivery_files  # noqa: F401
    from govshare.delivery import tables as _delivery  # noqa: F401
    from govshare.identity import tables as _identity  # noqa: F401
    from govshare.notify import tables as _notify  # noqa: F401
    from govshare.rules import tables as _rules  # noqa: F401
    from govshare.sharing import tables as _sharing  # noqa: F401
    from govshare.storage.metadata import metadata

    return metadata
