"""The people page's sections (people with covers and counts, the groups of look-alike faces, the strip of lone
faces, the names offered), rendered once and kept in Django's cache until anything they show changes.

A page is kept in two parts (PEOPLE and FACES, below), each under a key made of the database and what decides
what its viewer may see (the visibility setting, the viewer, their staff and active flags, the part's page number;
the first CACHED_PAGES pages only), with the library-wide version of that part it was rendered at; it is served
only while that is still the version. Every write that can change what a part shows bumps its version once its
transaction commits, so the next view renders that part afresh:
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
_SOURCES = ("templates/tagging/people_part.html", "templates/tagging/faces_part.html",
            "tagging/templatetags/people_page.py", "medialib/templatetags/medialib.py", "medialib/page_images.py")
_ROOT = Path(__file__).resolve().parent.parent
FORMAT = hashlib.sha256(b"".join((_ROOT / name).read_bytes() for name in _SOURCES if (_ROOT / name).exists())
                        ).hexdigest()[:12]


def _library() -> str:
    """Which database the pages come from: two libraries sharing one cache (a Redis for two sites, a test database
    and a benchmark's) never serve each other's pages, nor share versions."""
    db = settings.DATABASES["default"]
    where = f"{db.get('ENGINE')}|{db.get('HOST')}|{db.get('PORT')}|{db.get('NAME')}"
    return hashlib.sha256(where.encode()).hexdigest()[:8]
CSRF_PLACEHOLDER = "people-page-csrf-placeholder"
# Where the FACES part takes the names offered, which the PEOPLE part renders (a comment: escaped names have no "<").
DATALIST_SLOT = "<!-- known-people -->"
_local = threading.local()


def seconds() -> int:
    return settings.TAGGING_PEOPLE_PAGE_CACHE_SECONDS


# The page is kept in two parts, each with its own version, so that the most frequent change, unnamed faces stored
# or regrouped (a burst of analyses, the worker), renders again only the part that shows them:
# - PEOPLE: the people with their covers and counts, and the names offered (the datalist); moved on by any write
#   to people, and by a write to faces that may touch who they are (their person, a new named face, a deletion);
# - FACES: the groups of look-alikes and the strip of lone faces (unnamed faces only); moved on by any write to
#   faces or groups, and by a person's deletion (their faces become unnamed).
PEOPLE, FACES = "people", "faces"
PARTS = (PEOPLE, FACES)
# The writes to faces that only the FACES part shows: the worker's grouping.
FACES_ONLY_FIELDS = frozenset({"group", "group_id"})


def _version_key(part: str) -> str:
    return f"{VERSION_KEY}:{_library()}:{part}"


def version(part: str = PEOPLE) -> str | None:
    """The current version of a part, or None if the cache cannot be read (the page is then rendered uncached)."""
    key = _version_key(part)
    try:
        value = cache.get(key)
        if value is None:
            # Never a number used before: an evicted or flushed version must not bring back old entries.
            cache.add(key, time.time_ns(), timeout=None)
            value = cache.get(key)
    except Exception:  # a cache that is down slows the page, it does not break it
        log.warning("people page cache unavailable", exc_info=True)
        return None
    _reads().add(part)
    return None if value is None else str(value)


def _reads() -> set:
    if not hasattr(_local, "reads"):
        _local.reads = set()
    return _local.reads


def _bump_part_now(part: str) -> None:
    key = _version_key(part)
    try:
        try:
            cache.incr(key)
        except ValueError:  # no version yet (or evicted): a new one
            cache.set(key, time.time_ns(), timeout=None)
    except Exception:
        log.warning("could not bump the people page cache's version", exc_info=True)


def _pending() -> set:
    if not hasattr(_local, "pending"):
        _local.pending = set()
    return _local.pending


def _bump_pending() -> None:
    """After a commit: the parts its writes changed (and any left by a rolled-back transaction: one miss more)."""
    parts = sorted(_pending())
    _pending().clear()
    for part in parts:
        _bump_part_now(part)


def _bump_now() -> None:
    """Both parts, now (the benchmark's "a change", tests)."""
    for part in PARTS:
        _bump_part_now(part)


def bump(*parts: str) -> None:
    """What these parts of the people page show (both if none is named) changed in the caller's transaction, if
    any: a new version once it commits, in one callback per transaction however many rows changed. Inside a
    transaction, also at once if this thread read the version since its last bump: its own next view (the rest of
    a request, a test) then sees the change too. A view of another process that reads the data before the commit
    may store the old page under the version it read; the bump after the commit leaves it behind."""
    parts = parts or PARTS
    if not connection.in_atomic_block:
        for part in parts:
            _bump_part_now(part)
        return
    for part in parts:
        if part in _reads():
            _reads().discard(part)
            _bump_part_now(part)
    _pending().update(parts)
    if not any(func is _bump_pending for _, func, *_ in connection.run_on_commit):
        transaction.on_commit(_bump_pending)


# Only the first pages are kept (nearly every view): page numbers from a URL must not fill the cache (a file
# cache culls entries at random when full, the API's rate-limit counters among them).
CACHED_PAGES = 3


class Page:
    """One viewer's page in the cache, by part: `get(part)` is what is stored for the part's current version (None:
    render it), and `store(part, value)` keeps a rendering under the version read before it. One round trip reads
    both parts and their versions."""

    def __init__(self, user, *, people_page: int, groups_page: int):
        self.keys, self.versions, self.found = {}, {}, {}
        if not user.is_authenticated or people_page > CACHED_PAGES or groups_page > CACHED_PAGES:
            return
        viewer = (f"tagging:people-page:{FORMAT}:{_library()}:{settings.MEDIALIB_VISIBILITY}:u{user.pk}"
                  f":s{int(user.is_staff)}a{int(user.is_active)}")
        keys = {PEOPLE: f"{viewer}:people:p{people_page}", FACES: f"{viewer}:faces:g{groups_page}"}
        try:
            found = cache.get_many([*keys.values(), *(_version_key(part) for part in PARTS)])
        except Exception:  # a cache that is down slows the page, it does not break it
            log.warning("people page cache unavailable", exc_info=True)
            return
        for part in PARTS:
            current = found.get(_version_key(part))
            current = version(part) if current is None else str(current)
            if current is None:
                continue
            _reads().add(part)
            self.keys[part], self.versions[part] = keys[part], current
            entry = found.get(keys[part])
            if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == current:
                self.found[part] = entry[1]

    def get(self, part: str):
        return self.found.get(part)

    def store(self, part: str, value) -> None:
        if part not in self.keys:
            return
        try:
            cache.set(self.keys[part], (self.versions[part], value), timeout=seconds())
        except Exception:
            log.warning("people page cache unavailable", exc_info=True)


_CSRF_FIELD = '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'  # as {% csrf_token %} writes it


def with_csrf(html: str, token: str) -> str:
    """The sections with the viewer's own CSRF token in each form (the token is letters and digits). The whole
    field is replaced, never a name that happens to read like the placeholder (names are escaped: no "<")."""
    return html.replace(_CSRF_FIELD.format(CSRF_PLACEHOLDER), _CSRF_FIELD.format(token))


def _parts_of_fields(model, fields) -> tuple[str, ...]:
    """The parts a write of these fields (None: any) of a row of `model` changes."""
    if model._meta.model_name == "facegroup":
        return (FACES,)
    if model._meta.model_name == "person":
        return (PEOPLE,)
    if fields is not None and set(fields) <= FACES_ONLY_FIELDS:
        return (FACES,)
    return PARTS


def _parts_of_new_faces(model, objs) -> tuple[str, ...]:
    if model._meta.model_name == "face" and not any(getattr(obj, "person_id", None) for obj in objs):
        return (FACES,)  # unnamed faces: not in the people part
    return _parts_of_fields(model, None)


class PageQuerySet(models.QuerySet):
    """The queryset of Face, Person and FaceGroup: writes that send no signals bump the page's versions too."""

    def update(self, **kwargs):
        count = super().update(**kwargs)
        if count:
            bump(*_parts_of_fields(self.model, kwargs))
        return count

    update.alters_data = True

    def delete(self):
        result = super().delete()
        if result[0]:
            # A person deleted leaves their faces unnamed (the FACES part); a face deleted may be anyone's.
            bump(*(PARTS if self.model._meta.model_name != "facegroup" else (FACES,)))
        return result

    delete.alters_data = True
    delete.queryset_only = True

    def bulk_create(self, objs, *args, **kwargs):
        made = super().bulk_create(objs, *args, **kwargs)
        if made:
            bump(*_parts_of_new_faces(self.model, made))
        return made

    def bulk_update(self, objs, fields, *args, **kwargs):
        count = super().bulk_update(objs, fields, *args, **kwargs)
        if count:
            bump(*_parts_of_fields(self.model, fields))
        return count


PageManager = models.Manager.from_queryset(PageQuerySet)

# The fields of an asset that the page's face crops (URL, alt text) and its visibility are made of.
ASSET_FIELDS = frozenset({"public_id", "version", "format", "width", "height", "original_filename",
                          "uploaded_by", "uploaded_by_id"})


def _saved(sender, instance, created, update_fields=None, **kwargs):
    if created:
        bump(*_parts_of_new_faces(sender, [instance]))
    else:
        bump(*_parts_of_fields(sender, update_fields))


def _deleted(sender, **kwargs):
    bump(*((FACES,) if sender._meta.model_name == "facegroup" else PARTS))


def _changed(sender, **kwargs):
    bump()


def _asset_saved(sender, instance, created, update_fields=None, **kwargs):
    if created:
        return  # a new photo has no faces yet: they come with its analysis (Face rows)
    if update_fields is None or ASSET_FIELDS & set(update_fields):
        bump()


def connect(*, page_models, asset_model, user_model) -> None:
    """Connect the receivers: to the models the page shows (Face, Person, FaceGroup), the photos and the users.
    TaggingConfig.ready passes them in (this module is imported by tagging.models, so it does not import them)."""
    from django.db.models.signals import post_delete, post_save

    for model in page_models:
        post_save.connect(_saved, sender=model, dispatch_uid=f"people-page-save-{model.__name__}")
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"people-page-delete-{model.__name__}")
    post_save.connect(_asset_saved, sender=asset_model, dispatch_uid="people-page-asset")
    post_delete.connect(_changed, sender=user_model, dispatch_uid="people-page-user")
