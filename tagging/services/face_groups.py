"""Groups of look-alike unnamed faces, made by the worker so that the people page only reads them.

One owner's faces are grouped together, never with another owner's: a group is offered for naming to whoever may
name all of its faces (its owner, or staff: the rule of medialib.selectors.asset_can_edit). The grouping is the one
the page used to do on every view: the owner's newest TAGGING_FACE_GROUPS_WINDOW unnamed faces with an
embedding, clustered by dlib's Chinese whispers at a distance of GROUP_DISTANCE; groups of two or more are kept,
a face alone stays ungrouped (the page shows those as one strip). As faces are named the window rolls back
over older ones.

When an owner's faces change (stored by an analysis, named, cleared) `face_groups_touch` counts it in their
FaceGroupScope and queues `face_groups_refresh` after commit (a burst of changes, one task a second per owner and
process); a task whose scope is not behind returns at once, and a regrouping costs one window of faces whatever the
library's size. The periodic `face_groups_sweep` regroups the owners left behind (a lost task, photos deleted), a
bounded number at a time.
"""
from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from medialib.queueing import task_enqueue

from ..matching import NO_OWNER
from ..matching import owner_key as owner_key_of
from ..models import Face, FaceGroup, FaceGroupScope


# The likeness at which the people page has always grouped faces (dlib's Chinese whispers edge threshold):
# stricter than recognition's 0.6, since a wrong group is named wrong in one click.
GROUP_DISTANCE = 0.5


def faces_partition(rows: list[tuple[int, list]], *, distance: float = GROUP_DISTANCE) -> list[list[int]]:
    """Face ids grouped by likeness: the groups of two or more, each newest face first, the largest group first
    (then the one with the newest face). `rows` are (face id, embedding), in any order: the result is the same."""
    rows = sorted((row for row in rows if row[1]), key=lambda row: -row[0])  # the order the page always used
    if len(rows) < 2:
        return []
    import dlib

    labels = dlib.chinese_whispers_clustering([dlib.vector(embedding) for _, embedding in rows], distance)
    groups: dict[int, list[int]] = {}
    for (pk, _), label in zip(rows, labels):
        groups.setdefault(label, []).append(pk)
    return sorted((ids for ids in groups.values() if len(ids) > 1), key=lambda ids: (-len(ids), -ids[0]))


def owner_window(key: int, *, window: int | None = None) -> list[tuple[int, list]]:
    """(id, embedding) of the owner's newest unnamed faces that have an embedding, at most `window` of them."""
    faces = Face.objects.filter(person__isnull=True, embedding__isnull=False)
    faces = faces.filter(asset__uploaded_by__isnull=True) if key == NO_OWNER else faces.filter(asset__uploaded_by_id=key)
    window = settings.TAGGING_FACE_GROUPS_WINDOW if window is None else window
    return list(faces.order_by("-pk").values_list("pk", "embedding")[:window])


def face_groups_touch(*, owner_ids) -> None:
    """The faces on these owners' photos changed (in the caller's transaction): count it, and queue their
    regrouping once it commits. `owner_ids` are uploader ids, None for photos nobody owns."""
    keys = sorted({owner_key_of(owner_id) for owner_id in owner_ids})
    if not keys:
        return
    FaceGroupScope.objects.bulk_create([FaceGroupScope(owner_key=key) for key in keys], ignore_conflicts=True)
    FaceGroupScope.objects.filter(owner_key__in=keys).update(changes=F("changes") + 1)
    transaction.on_commit(lambda: _refresh_enqueue(keys))


# A burst of changes to one owner's faces (a re-check naming thousands, a bulk analysis) queues one regrouping a
# second from a process, not one per change: the task runs REFRESH_DELAY_SECONDS later, so it reads every change
# committed before a later one was skipped here.
REFRESH_DELAY_SECONDS = 1.0
_queued_at: dict[int, float] = {}


def _refresh_enqueue(keys: list[int]) -> None:
    from ..tasks import face_groups_refresh

    now = time.monotonic()
    for key in keys:
        if now - _queued_at.get(key, -REFRESH_DELAY_SECONDS) < REFRESH_DELAY_SECONDS:
            continue
        # A broker that is down loses nothing: the scope stays behind and the sweep regroups it.
        if task_enqueue(face_groups_refresh, key, countdown=REFRESH_DELAY_SECONDS):
            _queued_at[key] = now


def face_groups_refresh(*, owner_key: int, force: bool = False) -> bool:
    """Group the owner's unnamed faces again if they changed since the last grouping (or always, `force`).

    Returns whether any group changed. Groups whose faces are the same keep their id; only the faces that move
    are written. Two runs at once are serialised on the scope's row, and one that read older faces than the
    grouping already stored writes nothing.
    """
    key = owner_key
    FaceGroupScope.objects.bulk_create([FaceGroupScope(owner_key=key)], ignore_conflicts=True)
    seen = FaceGroupScope.objects.values_list("changes", "grouped").get(owner_key=key)
    if not force and seen[1] >= seen[0]:
        return False
    wanted = faces_partition(owner_window(key))
    with transaction.atomic():
        scope = FaceGroupScope.objects.select_for_update().get(owner_key=key)
        if scope.grouped > seen[0] or (not force and scope.grouped >= seen[0]):
            return False  # another run grouped newer faces meanwhile
        changed = _groups_write(key, wanted)
        scope.grouped, scope.grouped_at = max(scope.grouped, seen[0]), timezone.now()
        scope.save(update_fields=["grouped", "grouped_at"])
    return changed


def _groups_write(key: int, wanted: list[list[int]]) -> bool:
    stored: dict[int, set[int]] = {}
    for pk, group_id in Face.objects.filter(group__owner_key=key).values_list("pk", "group_id"):
        stored.setdefault(group_id, set()).add(pk)
    for group_id in FaceGroup.objects.filter(owner_key=key).exclude(pk__in=stored).values_list("pk", flat=True):
        stored[group_id] = set()  # every face of it deleted
    by_members = {frozenset(members): group_id for group_id, members in stored.items()}
    keep = {by_members[frozenset(ids)] for ids in wanted if frozenset(ids) in by_members}
    new = [ids for ids in wanted if frozenset(ids) not in by_members]
    gone = [group_id for group_id in stored if group_id not in keep]
    if not new and not gone:
        return False
    if gone:
        Face.objects.filter(group_id__in=gone).update(group=None)
        FaceGroup.objects.filter(pk__in=gone).delete()
    for ids in new:
        group = FaceGroup.objects.create(owner_key=key, size=len(ids))
        Face.objects.filter(pk__in=ids).update(group=group)
    return True


def owner_keys_all() -> list[int]:
    """Every owner whose photos may have faces: each user, and nobody (NO_OWNER)."""
    return sorted(get_user_model().objects.values_list("pk", flat=True)) + [NO_OWNER]


def face_groups_sweep(*, limit: int | None = None) -> list[int]:
    """The periodic regrouping, at most `limit` owners a run (TAGGING_FACE_GROUPS_BATCH): those whose groups are
    behind first, then those grouped longest ago (which catches what nobody counted: photos deleted). Groups of
    owners who are no more go. Returns the owners regrouped."""
    limit = settings.TAGGING_FACE_GROUPS_BATCH if limit is None else limit
    users = get_user_model().objects.values_list("pk", flat=True)
    missing = users.exclude(pk__in=FaceGroupScope.objects.values("owner_key"))
    FaceGroupScope.objects.bulk_create([FaceGroupScope(owner_key=key) for key in list(missing) + [NO_OWNER]],
                                       ignore_conflicts=True)
    gone = FaceGroupScope.objects.exclude(owner_key=NO_OWNER).exclude(owner_key__in=users)
    FaceGroup.objects.filter(owner_key__in=gone.values("owner_key")).delete()
    gone.delete()
    behind = list(FaceGroupScope.objects.filter(changes__gt=F("grouped"))
                  .order_by(F("grouped_at").asc(nulls_first=True), "pk").values_list("owner_key", flat=True)[:limit])
    oldest = list(FaceGroupScope.objects.exclude(owner_key__in=behind)
                  .order_by(F("grouped_at").asc(nulls_first=True), "pk")
                  .values_list("owner_key", flat=True)[:max(0, limit - len(behind))])
    for key in behind + oldest:
        face_groups_refresh(owner_key=key, force=True)
    return behind + oldest


def face_groups_rebuild(*, owner_keys: list[int] | None = None) -> int:
    """Regroup every owner's faces now (the `face_groups` command); returns how many owners' groups changed."""
    return sum(face_groups_refresh(owner_key=key, force=True) for key in (owner_keys or owner_keys_all()))
