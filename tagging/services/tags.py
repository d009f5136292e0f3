"""Writes about tags: auto tags from the add-ons, rejections, and the moderators' work on the library's tags.

Every moderation write is one set-based statement (or a few), never one per tag use, so a moderator's selection
of 10,000 uses takes seconds; and each is logged in the admin's LogEntry with who, when and what.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from medialib.models import Asset, AssetTag, Tag
from medialib.selectors import asset_can_edit
from medialib.notifications import TagUsesWatch
from medialib.services import tag_usage_refresh, tags_get_or_create

from .. import rules
from ..addons import FACES_ADDON
from ..models import ModerationItem, Person, TagDecision, TagSynonym

MODERATE_PERMISSION = "tagging.moderate_tags"
_CHUNK = 2000  # ids per IN (...) list: far below SQLite's 32,766 variables, few round trips


def auto_tags_apply(*, asset: Asset, addon: str, candidates: list[tuple[str, float]]) -> list[str]:
    """Replace this add-on's auto tags on the asset with the candidates, as the moderators' rules allow.

    Manual tags and other add-ons' tags are never touched (a name the asset already has keeps its source). A
    synonym's label is written as its tag ("puppy" -> "dog"); a blocked tag, a hidden person, and a tag rejected
    for this asset (under the detector's label or the synonym's tag) are never written. A tag a moderator approved
    stays approved when the add-on finds it again. Returns the names tagged.
    """
    if not candidates:  # nothing to write (the usual faces result: nobody recognised): only the old tags go
        AssetTag.objects.filter(content_object=asset, source=addon).delete()
        return []
    with transaction.atomic():
        labels = {" ".join(name.split()).lower() for name, _ in candidates}
        synonyms = dict(TagSynonym.objects.filter(label__in=labels).values_list("label", "tag__name"))
        names = labels | {name.lower() for name in synonyms.values()}
        blocked = {
            name.lower()
            for name in Tag.objects.annotate(lower_name=Lower("name"))
            .filter(blocked=True, lower_name__in=names)
            .values_list("name", flat=True)
        }
        hidden: set[str] = set()
        if addon == FACES_ADDON:
            hidden = {
                name.lower()
                for name in Person.objects.annotate(lower_name=Lower("name"))
                .filter(hidden=True, lower_name__in=labels)
                .values_list("name", flat=True)
            }
        rejected = {
            name.lower()
            for name in TagDecision.objects.filter(asset=asset, decision=TagDecision.REJECTED).values_list(
                "tag__name", flat=True
            )
        }
        mine = AssetTag.objects.filter(content_object=asset, source=addon)
        reviews = {
            name.lower(): (reviewed_at, reviewed_by)
            for name, reviewed_at, reviewed_by in mine.filter(reviewed_at__isnull=False).values_list(
                "tag__name", "reviewed_at", "reviewed_by"
            )
        }
        mine.delete()
        existing = {
            name.lower() for name in AssetTag.objects.filter(content_object=asset).values_list("tag__name", flat=True)
        }
        rows, added = [], []
        allowed = [(name, confidence) for name, confidence in rules.candidates_moderate(
            candidates, synonyms=synonyms, blocked=blocked, rejected=rejected, hidden=hidden
        ) if name.lower() not in existing]
        tags = tags_get_or_create(name for name, _ in allowed)
        for name, confidence in allowed:
            if name.lower() in existing:
                continue
            tag = tags[name.lower()]
            reviewed_at, reviewed_by = reviews.get(tag.name.lower(), (None, None))
            rows.append(AssetTag(
                content_object=asset, tag=tag, source=addon, confidence=confidence,
                asset_created_at=asset.created_at, reviewed_at=reviewed_at, reviewed_by_id=reviewed_by,
            ))
            existing.add(name.lower())
            added.append(tag.name)
        AssetTag.objects.bulk_create(rows)
    return added


def tag_reject(*, asset: Asset, tag: Tag, user=None) -> TagDecision:
    """Remove a tag from an asset and remember that it is wrong there, so analysis never adds it again."""
    with transaction.atomic():
        AssetTag.objects.filter(content_object=asset, tag=tag).delete()
        decision, _ = TagDecision.objects.update_or_create(
            asset=asset, tag=tag, defaults={"decision": TagDecision.REJECTED, "decided_by": user}
        )
    return decision


def tag_can_reject(*, user, asset: Asset) -> bool:
    """Whether this user may reject an add-on's tag on this asset: its owner, or a moderator. A rejection is a
    moderation decision (a TagDecision that re-analysis obeys), so other staff may not make it on others' photos."""
    if not asset_can_edit(user=user, asset=asset):
        return False
    return asset.uploaded_by_id == user.pk or user_can_moderate(user)


def tag_remove_or_reject(*, asset: Asset, name: str, user) -> str | None:
    """Take a tag off an asset for a person; only its owner or staff may, and an add-on's tag on someone else's
    asset only a moderator (tag_can_reject).

    An add-on's tag is rejected (tag_reject), so that analysis never puts it back; a manual tag is just removed.
    Returns "rejected", "removed", or None when the asset has no tag of that name.
    """
    if not asset_can_edit(user=user, asset=asset):
        raise PermissionDenied("Only the person who uploaded this image, or staff, can change its tags.")
    item = AssetTag.objects.filter(content_object=asset, tag__name__iexact=name).select_related("tag").first()
    if item is None:
        return None
    if item.source == AssetTag.SOURCE_MANUAL:
        item.delete()
        return "removed"
    if not tag_can_reject(user=user, asset=asset):
        raise PermissionDenied("Only the person who uploaded this image, or moderators (the “Can moderate tags” "
                               "permission), can reject an add-on's tag on it.")
    tag_reject(asset=asset, tag=item.tag, user=user)
    return "rejected"


def user_can_moderate(user) -> bool:
    return bool(user is not None and user.is_active and user.has_perm(MODERATE_PERMISSION))


def moderator_check(user) -> None:
    if not user_can_moderate(user):
        raise PermissionDenied("Only moderators (the “Can moderate tags” permission) can change this.")


def moderation_log(*, user, objects, flag: int, message: str) -> None:
    """One admin LogEntry per object, written in bulk (the object's history, and the moderation log, show it)."""
    moderation_log_each(user=user, entries=[(obj, message) for obj in objects], flag=flag)


def moderation_log_each(*, user, entries: list[tuple], flag: int) -> None:
    """Like moderation_log, with a message of its own for each object: [(object, message), ...]."""
    rows = [
        LogEntry(
            user_id=user.pk, content_type_id=ContentType.objects.get_for_model(obj, for_concrete_model=False).pk,
            object_id=str(obj.pk), object_repr=str(obj)[:200], action_flag=flag, change_message=message,
        )
        for obj, message in entries
    ]
    LogEntry.objects.bulk_create(rows, batch_size=1000)


def _chunks(ids: list, size: int = _CHUNK):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def tag_uses_approve(*, uses: QuerySet, user) -> int:
    """Confirm these auto tags: they leave the moderation queue, and re-analysis keeps them approved."""
    moderator_check(user)
    with transaction.atomic():
        pending = ModerationItem.objects.filter(
            pk__in=uses.values("pk"), reviewed_at__isnull=True
        ).exclude(source=AssetTag.SOURCE_MANUAL)
        logged = list(pending.select_related("tag", "content_object"))
        count = AssetTag.objects.filter(pk__in=pending.values("pk")).update(
            reviewed_at=timezone.now(), reviewed_by=user
        )
        moderation_log(user=user, objects=logged, flag=CHANGE, message="Approved.")
    return count


def tag_uses_reject(*, uses: QuerySet, user) -> int:
    """Take these tags off their assets and remember each is wrong there, so analysis never adds it again."""
    moderator_check(user)
    with transaction.atomic():
        items = list(ModerationItem.objects.filter(pk__in=uses.values("pk")).select_related("tag", "content_object"))
        if not items:
            return 0
        watch = TagUsesWatch(tag_ids={i.tag_id for i in items}, asset_ids={i.content_object_id for i in items})
        TagDecision.objects.bulk_create(
            [TagDecision(asset_id=i.content_object_id, tag_id=i.tag_id, decided_by=user) for i in items],
            ignore_conflicts=True, batch_size=1000,
        )
        moderation_log(user=user, objects=items, flag=DELETION,
                       message="Rejected: taken off the photo; analysis will not add it again.")
        for chunk in _chunks([i.pk for i in items]):
            AssetTag.objects.filter(pk__in=chunk).delete()
        tag_usage_refresh({i.tag_id for i in items})
        watch.notify()
    return len(items)


def _uses_move(*, uses: QuerySet, target: Tag) -> tuple[int, int]:
    """Make these tag uses uses of `target`, keeping each one's source, confidence and review.

    Where an asset would get the target twice (it has it already, or two moved tags meet on it), one use is kept:
    a person's (manual) before an add-on's, an approved one before one not reviewed, then the surer one, then
    the one already there. Returns (moved, dropped as duplicates).
    """
    rows = list(uses.exclude(tag=target).values_list("pk", "content_object_id", "source", "confidence", "reviewed_at"))
    if not rows:
        return 0, 0
    present = AssetTag.objects.filter(tag=target, content_object_id__in=uses.values("content_object_id"))
    target_rows = {row[1]: row for row in present.values_list(
        "pk", "content_object_id", "source", "confidence", "reviewed_at")}

    def rank(row, already_there: bool):
        _, _, source, confidence, reviewed_at = row
        return (source == AssetTag.SOURCE_MANUAL, reviewed_at is not None, confidence or 0.0, already_there)

    best: dict[int, tuple] = {}  # asset id -> (rank, pk, already there)
    for row in target_rows.values():
        best[row[1]] = (rank(row, True), row[0], True)
    drop: list[int] = []
    for row in rows:
        candidate = (rank(row, False), row[0], False)
        current = best.get(row[1])
        if current is None:
            best[row[1]] = candidate
        elif candidate[0] > current[0]:
            drop.append(current[1])
            best[row[1]] = candidate
        else:
            drop.append(row[0])
    move = [pk for _, pk, already_there in best.values() if not already_there]
    # Deletes first: the unique (asset, tag) constraint must hold after every statement.
    for chunk in _chunks(drop):
        AssetTag.objects.filter(pk__in=chunk).delete()
    for chunk in _chunks(move):
        AssetTag.objects.filter(pk__in=chunk).update(tag=target)
    return len(move), len(drop)


def _synonym_point(*, label: str, tag: Tag, user) -> None:
    label = " ".join(label.split()).lower()
    if label == tag.name.lower():
        return
    synonym = TagSynonym.objects.filter(label=label).first()
    if synonym is None:
        TagSynonym.objects.create(label=label, tag=tag, created_by=user)
    elif synonym.tag_id != tag.pk:
        synonym.tag = tag
        synonym.save(update_fields=["tag"])


def tag_name_clean(name: str) -> str:
    name = " ".join(str(name).split())
    if not name:
        raise ValidationError("Type a tag name.")
    if len(name) > 100:
        raise ValidationError("A tag name is at most 100 characters.")
    return name


def tag_slug_unique(tag: Tag, name: str) -> str:
    slug, i = tag.slugify(name), 1
    while Tag.objects.filter(slug=slug).exclude(pk=tag.pk).exists():
        slug, i = tag.slugify(name, i), i + 1
    return slug


def tag_rename(*, tag: Tag, name: str, user) -> Tag:
    """Rename a tag everywhere it is used; the old name stays a synonym, so detectors saying it get the new one."""
    moderator_check(user)
    name = tag_name_clean(name)
    other = Tag.objects.filter(name__iexact=name).exclude(pk=tag.pk).first()
    if other is not None:
        raise ValidationError(f"There is already a tag “{other.name}”: merge into it instead.")
    old = tag.name
    if old == name:
        return tag
    with transaction.atomic():
        watch = TagUsesWatch(tag_ids=[tag.pk])
        tag.name, tag.slug = name, tag_slug_unique(tag, name)
        tag.save(update_fields=["name", "slug"])
        if old.lower() != name.lower():
            _synonym_point(label=old, tag=tag, user=user)
            TagSynonym.objects.filter(tag=tag, label=name.lower()).delete()
        moderation_log(user=user, objects=[tag], flag=CHANGE, message=f"Renamed from “{old}” to “{name}”.")
        watch.notify()
    return tag


@dataclass
class MergeResult:
    target: Tag
    merged: list[str]
    moved: int
    dropped: int


def tags_merge_into(*, sources: list[Tag], target: Tag, user) -> MergeResult:
    """The merge of tags_merge without its permission check and log: for a caller that checks and logs its own
    change (a person's rename carries their name tag along)."""
    source_ids = [t.pk for t in sources]
    watch = TagUsesWatch(tag_ids=[*source_ids, target.pk])
    moved, dropped = _uses_move(uses=AssetTag.objects.filter(tag_id__in=source_ids), target=target)
    # A rejection stays a rejection under the new name (one per asset).
    rejections = list(TagDecision.objects.filter(tag_id__in=source_ids).values_list("pk", "asset_id"))
    has_target = set(TagDecision.objects.filter(
        tag=target, asset_id__in=TagDecision.objects.filter(tag_id__in=source_ids).values("asset_id")
    ).values_list("asset_id", flat=True))
    keep, seen = [], set(has_target)
    for pk, asset_id in rejections:
        if asset_id not in seen:
            keep.append(pk)
            seen.add(asset_id)
    for chunk in _chunks(keep):
        TagDecision.objects.filter(pk__in=chunk).update(tag=target)
    TagSynonym.objects.filter(tag_id__in=source_ids).update(tag=target)
    for source in sources:
        _synonym_point(label=source.name, tag=target, user=user)
    TagSynonym.objects.filter(tag=target, label=target.name.lower()).delete()
    Tag.objects.filter(pk__in=source_ids).delete()  # what is left of them: duplicate rejections
    tag_usage_refresh([target.pk])
    watch.notify()
    return MergeResult(target=target, merged=[t.name for t in sources], moved=moved, dropped=dropped)


def tags_merge(*, tags, target: Tag, user) -> MergeResult:
    """Every use of these tags becomes a use of `target`, without duplicates; the tags are then deleted.

    Their names become synonyms of the target, so auto-tagging writes the target from now on, and their
    rejections become rejections of the target on the same assets.
    """
    moderator_check(user)
    sources = [t for t in tags if t.pk != target.pk]
    if not sources:
        raise ValidationError("Choose at least one tag other than the one to merge into.")
    with transaction.atomic():
        result = tags_merge_into(sources=sources, target=target, user=user)
        names = ", ".join(f"“{n}”" for n in result.merged)
        moderation_log(user=user, objects=[target], flag=CHANGE,
                       message=f"Merged {names} into this tag: {result.moved} uses moved, "
                               f"{result.dropped} duplicates dropped.")
        moderation_log(user=user, objects=sources, flag=DELETION, message=f"Merged into “{target.name}”.")
    return result


def tags_delete(*, tags: QuerySet, user) -> int:
    """Delete tags and every use of them; returns how many uses went. Analysis may add them again (block to stop it)."""
    moderator_check(user)
    with transaction.atomic():
        counted = list(tags.annotate(uses_now=Count("uses")))
        moderation_log_each(user=user, flag=DELETION,
                            entries=[(tag, f"Deleted everywhere ({tag.uses_now} uses).") for tag in counted])
        ids = [t.pk for t in counted]
        uses = sum(t.uses_now for t in counted)
        watch = TagUsesWatch(tag_ids=ids)
        for chunk in _chunks(ids):
            AssetTag.objects.filter(tag_id__in=chunk).delete()
            Tag.objects.filter(pk__in=chunk).delete()
        watch.notify()
    return uses


def tags_block(*, tags: QuerySet, user, blocked: bool = True) -> int:
    """Put tags on (or take them off) the block list: auto-tagging never assigns a blocked tag."""
    moderator_check(user)
    with transaction.atomic():
        changing = list(tags.exclude(blocked=blocked))
        Tag.objects.filter(pk__in=[t.pk for t in changing]).update(blocked=blocked)
        moderation_log(user=user, objects=changing, flag=CHANGE,
                       message="Blocked: auto-tagging never assigns it." if blocked else "Unblocked.")
    return len(changing)


def tags_auto_uses_remove(*, tags: QuerySet, user) -> int:
    """Take the add-ons' uses of blocked tags off every asset (people's own uses stay); returns how many."""
    moderator_check(user)
    with transaction.atomic():
        blocked = list(tags.filter(blocked=True).annotate(
            auto_uses=Count("uses", filter=~Q(uses__source=AssetTag.SOURCE_MANUAL))))
        watch = TagUsesWatch(tag_ids=[t.pk for t in blocked])
        removed, _ = AssetTag.objects.filter(tag__in=[t.pk for t in blocked]).exclude(
            source=AssetTag.SOURCE_MANUAL).delete()
        moderation_log_each(user=user, flag=CHANGE, entries=[
            (tag, f"Removed its {tag.auto_uses} auto uses (blocked).") for tag in blocked])
        tag_usage_refresh([t.pk for t in blocked])
        watch.notify()
    return removed


def synonyms_apply(*, synonyms: QuerySet, user) -> tuple[int, int]:
    """Apply synonyms to the tags already given: the add-ons' uses of each label become uses of its tag.

    A person's own uses of the label are left alone: a synonym speaks for detectors. Returns (moved, dropped).
    """
    moderator_check(user)
    total_moved = total_dropped = 0
    with transaction.atomic():
        for synonym in synonyms.select_related("tag"):
            labels = Tag.objects.filter(name__iexact=synonym.label).exclude(pk=synonym.tag_id)
            label_ids = list(labels.values_list("pk", flat=True))
            uses = AssetTag.objects.filter(tag_id__in=label_ids).exclude(source=AssetTag.SOURCE_MANUAL)
            watch = TagUsesWatch(tag_ids=[*label_ids, synonym.tag_id])
            moved, dropped = _uses_move(uses=uses, target=synonym.tag)
            tag_usage_refresh([synonym.tag_id, *label_ids])
            watch.notify()
            moderation_log(user=user, objects=[synonym], flag=CHANGE,
                           message=f"Applied to existing tags: {moved} uses moved, {dropped} duplicates dropped.")
            total_moved += moved
            total_dropped += dropped
    return total_moved, total_dropped
