"""Writes of search: keeping tag usage counts and the co-occurrence table current, in batches."""
from __future__ import annotations

import logging

from django.db import connection, transaction
from django.utils import timezone

from medialib.services import tag_usage_refresh

from . import conf, sql

logger = logging.getLogger(__name__)

# Two rebuilds at once would insert the same pairs twice; the second one just steps aside.
_REBUILD_LOCK = 0x5EA2C4


def cooccurrence_rebuild() -> int | None:
    """Recompute the co-occurrence table for tags used at least SEARCH_COOCCURRENCE_MIN_USES times.

    Returns the rows written, or None when another rebuild is running. Readers keep the old table until this
    one commits.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_REBUILD_LOCK])
                if not cursor.fetchone()[0]:
                    logger.info("A co-occurrence rebuild is already running; skipped")
                    return None
        return sql.cooccurrence_rebuild(
            min_uses=conf.get("SEARCH_COOCCURRENCE_MIN_USES"),
            per_tag=conf.get("SEARCH_COOCCURRENCE_PER_TAG"),
            computed_at=timezone.now(),
        )


def search_refresh() -> dict:
    """Both, in order (the rebuild picks its popular tags by usage_count): after bulk changes."""
    changed = tag_usage_refresh()
    return {"usage_counts_changed": changed, "cooccurrence_rows": cooccurrence_rebuild()}
