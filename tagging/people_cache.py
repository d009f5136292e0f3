"""The people page's sections (people with covers and counts, the groups of look-alike faces, the strip of lone
faces, the names offered), rendered once and kept in Django's cache until anything they show changes.

A page is kept under a key made of what decides what its viewer may see (the visibility setting, the viewer, their
staff and active flags, the page numbers; the first CACHED_PAGES pages only), with the library-wide version it was
rendered at; it is served only while that is still the version. Every write that can change what the page shows
bumps the version once its transaction commits, so the next view renders afresh:
- any save or delete of a Face, Person or FaceGroup (signals; a photo's deletion cascades to its faces, and the
  receivers keep Django from deleting those without signals), and every QuerySet.update(), delete(),
  bulk_create() and bulk_update() on them (PageQuerySet, their managers' queryset): naming, clearing, merging,
  renaming, approving, hiding, the worker's regrouping, an analysis storing faces, the admin's actions and the
  management commands all go through one of these;
- a save of an Asset that changes what a face crop's URL, its alt text or its visibility is made of (public_id,
  version, format, size, original_filename, uploaded_by), and the deletion of a user (their photos' owner is
  emptied without signals).
What the ORM cannot see (raw SQL, another program writing the database) is caught by the entries' lifetime
(TAGGING_PEOPLE_PAGE_CACHE_SECONDS). The viewer's CSRF token is never cached: the sections are rendered with a
placeholder that each view replaces with its own viewer's token. Counts for moderators (people awaiting approval)
are not cached either.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection, models, transaction

log = logging.getLogger(__name__)

VERSION_KEY = "tagging:people-page:version"
# What a rendered page depends on besides the data: the templates and the helpers that write its HTML. A deploy
# that changes them starts from new keys (the cache outlives processes when it is Redis).
_SOURCES = ("templates/tagging/people_sections.html", "tagging/templatetags/people_page.py",
            "medialib/templatetags/medialib.py", "medialib/page_images.py")
_ROOT = Path(__file__).resolve().parent.parent
FORMAT = hashlib.sha256(b"".join((_ROOT / name).read_bytes() for name in _SOURCES if (_ROOT / name).exists())
                        ).hexdigest()[:12]
CSRF_PLACEHOLDER = "people-page-csrf-placeholder"
_local = threading.local()


def seconds() -> int:
    return settings.TAGGING_PEOPLE_PAGE_CACHE_SECONDS


def version() -> str | None:
    """The current version, or None if the cache cannot be read (the page is then rendered uncached)."""
    try:
        value = cache.get(VERSION_KEY)
        if value is None:
            # Never a number used before: an evicted or flushed version must not bring back old entries.
            cache.add(VERSION_KEY, time.time_ns(), timeout=None)
            value = cache.get(VERSION_KEY)
    except Exception:  # a cache that is down slows the page, it does not break it
        log.warning("people page cache unavailable", exc_info=True)
        return None
    _local.read = True
    return None if value is None else str(value)


def _bump_now() -> None:
    try:
        try:
            cache.incr(VERSION_KEY)
        except ValueError:  # no version yet (or evicted): a new one
            cache.set(VERSION_KEY, time.time_ns(), timeout=None)
    except Exception:
        log.warning("could not bump the people page cache's version", exc_info=True)


def bump() -> None:
    """What the people page shows changed (in the caller's transaction, if any): a new version once it commits,
    once per transaction however many rows changed. Inside a transaction, also at once if this thread read the
    version since its last bump: its own next view (the rest of a request, a test) then sees the change too. A
    view of another process that reads the data before the commit may store the old page under that version; the
    bump after the commit leaves it behind."""
    if not connection.in_atomic_block:
        _bump_now()
        return
    if getattr(_local, "read", False):
        _local.read = False
        _bump_now()
    if not any(func is _bump_now for _, func, *_ in connection.run_on_commit):
        transaction.on_commit(_bump_now)


# Only the first pages are kept (nearly every view): page numbers from a URL must not fill the cache (a file
# cache culls entries at random when full, the API's rate-limit counters among them).
CACHED_PAGES = 3


class Page:
    """One viewer's page in the cache: `html` is what is stored for the current version (None: render it), and
    `store` keeps a rendering under the version read before it (one round trip for both reads)."""

    def __init__(self, user, *, people_page: int, groups_page: int):
        self.key, self.version, self.html = None, None, None
        if not user.is_authenticated or people_page > CACHED_PAGES or groups_page > CACHED_PAGES:
            return
        self.key = (f"tagging:people-page:{FORMAT}:{settings.MEDIALIB_VISIBILITY}:u{user.pk}"
                    f":s{int(user.is_staff)}a{int(user.is_active)}:p{people_page}:g{groups_page}")
        try:
            found = cache.get_many([VERSION_KEY, self.key])
        except Exception:  # a cache that is down slows the page, it does not break it
            log.warning("people page cache unavailable", exc_info=True)
            self.key = None
            return
        current = found.get(VERSION_KEY)
        if current is None:
            current = version()
            if current is None:
                self.key = None
                return
        _local.read = True
        self.version = str(current)
        entry = found.get(self.key)
        if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == self.version:
            self.html = entry[1]

    def store(self, html: str) -> None:
        if self.key is None:
            return
        try:
            cache.set(self.key, (self.version, html), timeout=seconds())
        except Exception:
            log.warning("people page cache unavailable", exc_info=True)


_CSRF_FIELD = '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'  # as {% csrf_token %} writes it


def with_csrf(html: str, token: str) -> str:
    """The sections with the viewer's own CSRF token in each form (the token is letters and digits). The whole
    field is replaced, never a name that happens to read like the placeholder (names are escaped: no "<")."""
    return html.replace(_CSRF_FIELD.format(CSRF_PLACEHOLDER), _CSRF_FIELD.format(token))


class PageQuerySet(models.QuerySet):
    """The queryset of Face, Person and FaceGroup: writes that send no signals bump the page's version too."""

    def update(self, **kwargs):
        count = super().update(**kwargs)
        if count:
            bump()
        return count

    update.alters_data = True

    def delete(self):
        result = super().delete()
        if result[0]:
            bump()
        return result

    delete.alters_data = True
    delete.queryset_only = True

    def bulk_create(self, objs, *args, **kwargs):
        made = super().bulk_create(objs, *args, **kwargs)
        if made:
            bump()
        return made

    def bulk_update(self, objs, fields, *args, **kwargs):
        count = super().bulk_update(objs, fields, *args, **kwargs)
        if count:
            bump()
        return count


PageManager = models.Manager.from_queryset(PageQuerySet)

# The fields of an asset that the page's face crops (URL, alt text) and its visibility are made of.
ASSET_FIELDS = frozenset({"public_id", "version", "format", "width", "height", "original_filename",
                          "uploaded_by", "uploaded_by_id"})


def _changed(sender, **kwargs):
    bump()


def _asset_saved(sender, instance, created, update_fields=None, **kwargs):
    if created:
        return  # a new photo has no faces yet: they come with its analysis (Face rows)
    if update_fields is None or ASSET_FIELDS & set(update_fields):
        bump()


def connect() -> None:
    """Connect the receivers (TaggingConfig.ready)."""
    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_delete, post_save

    from medialib.models import Asset

    from .models import Face, FaceGroup, Person

    for model in (Face, Person, FaceGroup):
        post_save.connect(_changed, sender=model, dispatch_uid=f"people-page-save-{model.__name__}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"people-page-delete-{model.__name__}")
    post_save.connect(_asset_saved, sender=Asset, dispatch_uid="people-page-asset")
    post_delete.connect(_changed, sender=get_user_model(), dispatch_uid="people-page-user")
