"""Writes about faces and people: the faces an analysis found, naming and correcting them, recognition re-checks,
enrolment, and the moderators' work on people.

Once an aws_rek_face analysis completes, its Face rows are the source of truth: the add-on's data
(`celebrity_faces`, `unrecognized_faces`) is rebuilt from them whenever someone names or corrects a face.
Recognising a face is tagging.matching's work, which writes nothing; what it decides is stored here.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.admin.models import CHANGE, DELETION
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from medialib.models import Asset, AssetTag, Tag
from medialib.notifications import TagUsesWatch
from medialib.selectors import asset_can_edit
from medialib.services import UploadError, asset_delete, asset_upload, tag_usage_refresh

from .. import contract, rules
from ..addons import FACES_ADDON
from ..backends.base import FacesResult
from ..backends.local import LocalBackend
from ..images import analysis_image
from ..matching import NO_OWNER, FaceReferences, face_carried_over, face_recognise
from ..models import AnalysisResult, Face, FaceRejection, Person, TagSynonym
from ..selectors import asset_faces_data
from .face_groups import face_groups_touch
from .tags import (
    auto_tags_apply,
    moderation_log,
    moderation_log_each,
    moderator_check,
    tag_slug_unique,
    tags_merge_into,
    user_can_moderate,
)

logger = logging.getLogger(__name__)


def faces_store(*, asset: Asset, found: FacesResult, backend: str) -> list[Face]:
    """Replace the asset's faces with what a new analysis found; keep what people decided about them.

    A new face that overlaps an old one (IoU >= 0.5) inherits its name if a person gave it, and its rejections.
    Faces the backend recognised (Rekognition's celebrities) become that person; the rest are matched against
    the example faces that count on this owner's photos (tagging.matching: their own, and approved ones).
    """
    old = list(asset.faces.prefetch_related("rejections"))
    entries = [(c.face, c) for c in found.celebrities] + [(f, None) for f in found.faces]
    entries.sort(key=lambda item: item[0].bounding_box.width * item[0].bounding_box.height, reverse=True)
    new_faces, rejected_for = [], {}
    for index, (detected, celebrity) in enumerate(entries):
        box = detected.bounding_box
        face = Face(
            asset=asset, index=index, left=box.left, top=box.top, width=box.width, height=box.height,
            confidence=detected.confidence,
            landmarks=[{"type": lm.type, "x": lm.x, "y": lm.y} for lm in detected.landmarks],
            pose=contract.face_data(detected).get("pose"), quality=contract.face_data(detected).get("quality"),
            embedding=list(detected.embedding) if detected.embedding else None, backend=backend,
        )
        previous = face_carried_over(old, face)
        rejected = set()
        if previous is not None:
            rejected = {r.person_id for r in previous.rejections.all()}
            if previous.person_source == Face.SOURCE_USER:
                face.person_id, face.person_source, face.match_confidence = previous.person_id, Face.SOURCE_USER, 100.0
        if not face.person_id and celebrity is not None:
            person = person_get_or_create(celebrity.name, approved=True)  # the recogniser's word, not a user's
            if person.pk not in rejected:
                face.person, face.person_source = person, Face.SOURCE_REKOGNITION
                face.match_confidence = celebrity.match_confidence
                face.celebrity_id, face.celebrity_urls = celebrity.id, list(celebrity.urls)
        new_faces.append(face)
        rejected_for[index] = rejected
    references = FaceReferences.load()
    for face in new_faces:
        if not face.person_id:
            face_recognise(face, references, rejected_for[face.index], owner_id=asset.uploaded_by_id)
    with transaction.atomic():
        asset.faces.all().delete()
        Face.objects.bulk_create(new_faces)
        created = list(asset.faces.order_by("index"))
        for face in created:
            FaceRejection.objects.bulk_create(
                [FaceRejection(face=face, person_id=pid) for pid in rejected_for[face.index]], ignore_conflicts=True
            )
        face_groups_touch(owner_ids=[asset.uploaded_by_id])
    return created


def faces_result_refresh(*, asset: Asset) -> None:
    """Rebuild the asset's aws_rek_face data from its faces, and its auto tags where the analysis asked for them.

    Every change to a face's name ends here, so its owner's face groups are queued for regrouping here too."""
    with transaction.atomic():
        face_groups_touch(owner_ids=[asset.uploaded_by_id])
        result = (
            AnalysisResult.objects.select_for_update()
            .filter(asset=asset, addon=FACES_ADDON, status=AnalysisResult.COMPLETE)
            .first()
        )
        if result is None:
            return
        result.data = asset_faces_data(asset)
        result.save(update_fields=["data"])
        if result.auto_tagging is not None:
            auto_tags_apply(asset=asset, addon=FACES_ADDON,
                            candidates=rules.auto_tag_candidates(FACES_ADDON, result.data, result.auto_tagging))


def person_find(name: str) -> Person | None:
    """The person a name means, compared without case: their own name, or a tag synonym of it ("obama" -> tag
    "Barack Obama" -> the person "Barack Obama"), so that naming and enrolment never make a second person of them."""
    name = " ".join(str(name).split())
    person = Person.objects.filter(name__iexact=name).first()
    if person is None:
        synonym = TagSynonym.objects.filter(label__iexact=name).select_related("tag").first()
        if synonym is not None:
            person = Person.objects.filter(name__iexact=synonym.tag.name).first()
    return person


def person_for_folder(name: str) -> tuple[str, Person | None]:
    """The enrol command's reading of a folder name: a person it names or means (person_find), else the one person
    whose name has it as a whole word ("obama" -> "Barack Obama"; two such people: nobody). Returns (name, person)."""
    name = " ".join(str(name).split())
    person = person_find(name)
    if person is None and name and " " not in name:
        words = [p for p in Person.objects.filter(name__icontains=name)
                 if name.lower() in p.name.lower().split()]
        if len(words) == 1:
            person = words[0]
    return (person.name if person is not None else name), person


def person_get_or_create(name: str, *, approved: bool = False) -> Person:
    """The person of that name (any case), created if new; `approved` when whoever creates them vouches for them
    (staff, a moderator, the enrol command, a recogniser). An existing person keeps their approval as it is."""
    name = " ".join(str(name).split())
    if not name:
        raise ValidationError("Type a name.")
    if "\x00" in name:  # PostgreSQL cannot store it
        raise ValidationError("A name cannot contain a NUL character (\\x00).")
    if len(name) > 200:
        raise ValidationError("A name is at most 200 characters.")
    person = person_find(name)
    if person is not None:
        return person
    try:
        with transaction.atomic():
            return Person.objects.create(name=name, approved=approved)
    except Exception:
        return Person.objects.get(name__iexact=name)


def user_vouches(user) -> bool:
    """Whether what this user says about faces holds on everyone's photos: staff and moderators (and the
    library itself, the enrol command), not other users."""
    if user is None or not getattr(user, "is_active", False):
        return False
    return bool(user.is_staff or user_can_moderate(user))


def _check(user, face: Face) -> None:
    if not asset_can_edit(user=user, asset=face.asset):
        raise PermissionDenied("Only the person who uploaded this photo, or staff, can name its faces.")


def face_name(*, face: Face, user, name: str | None = None, person: Person | None = None) -> Face:
    """Say who a face is. A different person than recognition thought is remembered as a correction.

    Then the library's unrecognised faces are checked against this person in the background.
    """
    _check(user, face)
    vouches = user_vouches(user)
    with transaction.atomic():
        person = person or person_get_or_create(name or "", approved=vouches)
        if face.person_id and face.person_id != person.pk:
            FaceRejection.objects.get_or_create(face=face, person_id=face.person_id, defaults={"created_by": user})
        FaceRejection.objects.filter(face=face, person=person).delete()  # a person said so: it is them after all
        face.person, face.person_source, face.match_confidence = person, Face.SOURCE_USER, 100.0
        face.celebrity_id, face.celebrity_urls = "", []
        # An owner's naming is an example face for their own photos; for everyone's only if staff named it.
        face.example_approved = vouches
        face.save(update_fields=["person", "person_source", "match_confidence", "celebrity_id", "celebrity_urls",
                                 "example_approved"])
        faces_result_refresh(asset=face.asset)
        person_id = person.pk
        transaction.on_commit(lambda: _recheck_enqueue(person_id))
    return face


def face_clear(*, face: Face, user) -> Face:
    """This face is not who it was said to be: forget the name, and never match that person to it again."""
    _check(user, face)
    with transaction.atomic():
        if face.person_id:
            FaceRejection.objects.get_or_create(face=face, person_id=face.person_id, defaults={"created_by": user})
        face.person, face.person_source, face.match_confidence = None, "", None
        face.celebrity_id, face.celebrity_urls, face.example_approved = "", [], False
        face.save(update_fields=["person", "person_source", "match_confidence", "celebrity_id", "celebrity_urls",
                                 "example_approved"])
        faces_result_refresh(asset=face.asset)
    return face


def _recheck_enqueue(person_id: int) -> None:
    from ..tasks import faces_recheck

    try:
        faces_recheck.delay(person_id)
    except Exception:  # the next naming or analysis recognises them anyway
        logger.exception("Could not queue the re-check for person %s", person_id)


def faces_recheck(*, person_id: int) -> list[int]:
    """Match the library's unrecognised faces against one person's example faces; returns the assets changed.

    Each face only against the examples that count on its owner's photos (tagging.matching): a person named by
    a user, not yet approved, is looked for on that user's photos only.
    """
    references = FaceReferences.load(person_ids=[person_id])
    if not len(references.person_ids):
        return []
    changed: set[int] = set()
    candidates = (
        Face.objects.filter(person__isnull=True, embedding__isnull=False)
        .exclude(rejections__person_id=person_id)
        .annotate(owner_id=F("asset__uploaded_by_id"))
        .only("pk", "asset_id", "embedding")
    )
    if not references.shared.any():  # nothing counts beyond the namers' own photos: look at theirs only
        owners = {int(owner) for owner in references.owner_ids}
        mine = Q(asset__uploaded_by_id__in=owners - {NO_OWNER})
        if NO_OWNER in owners:
            mine |= Q(asset__uploaded_by__isnull=True)
        candidates = candidates.filter(mine)
    for face in candidates.iterator(chunk_size=1000):
        if face_recognise(face, references, set(), owner_id=face.owner_id):
            # Only if nobody named it meanwhile.
            if Face.objects.filter(pk=face.pk, person__isnull=True).update(
                person_id=face.person_id, person_source=Face.SOURCE_AUTO, match_confidence=face.match_confidence
            ):
                changed.add(face.asset_id)
    for asset in Asset.objects.filter(pk__in=changed):
        faces_result_refresh(asset=asset)
    return sorted(changed)


def person_enroll_photo(*, name: str, file, public_id: str, user=None, gallery: bool = False) -> tuple[bool, str]:
    """Enrol a person from a photo that shows exactly them, once; the photo joins the library.

    A photo uploaded here stays out of the gallery (Asset.in_gallery) unless `gallery`: enrolment photos are
    passport-style portraits a library's users did not choose to show. A photo already in the library keeps its place.

    Returns (enrolled, what happened). Running it again for the same photo changes nothing.
    """
    person = person_get_or_create(name, approved=True)  # the library's own enrolment vouches for them
    asset = Asset.objects.filter(public_id=public_id).first()
    if asset is not None and asset.faces.filter(person=person, person_source=Face.SOURCE_USER).exists():
        return False, "already enrolled"
    created = asset is None
    if created:
        try:
            asset = asset_upload(file=file, uploaded_by=user, public_id=public_id,
                                 on_create=None if gallery else _keep_out_of_gallery)
        except UploadError as exc:
            return False, " ".join(exc.messages)
    # Enrolment needs embeddings, which only the local detector gives, whatever backend analyses uploads.
    # The face options the library analyses with (detector, landmarks), so that enrolled faces compare like-for-like.
    backend = LocalBackend(**settings.TAGGING_BACKENDS.get("local", {}).get("OPTIONS", {}))
    found = backend.faces(analysis_image(asset, max_pixels=backend.decode_size([FACES_ADDON])))
    if len(found.faces) != 1:
        if created:
            asset_delete(asset=asset, user=_System())
        return False, "no face found" if not found.faces else f"{len(found.faces)} faces found, not one"
    with transaction.atomic():
        if not person.approved:  # only their approved example faces count elsewhere, as this one
            Person.objects.filter(pk=person.pk).update(approved=True)
        faces_store(asset=asset, found=found, backend="local")
        face = asset.faces.get()
        FaceRejection.objects.filter(face=face, person=person).delete()
        face.person, face.person_source, face.match_confidence = person, Face.SOURCE_USER, 100.0
        face.example_approved = True
        face.save(update_fields=["person", "person_source", "match_confidence", "example_approved"])
        now = timezone.now()
        AnalysisResult.objects.update_or_create(
            asset=asset, addon=FACES_ADDON,
            defaults={"status": AnalysisResult.COMPLETE, "data": asset_faces_data(asset), "backend": "local", "error": "",
                      "attempts": 1, "requested_at": now, "queued_at": now, "started_at": now, "completed_at": now},
        )
    return True, "enrolled"


def _keep_out_of_gallery(asset: Asset) -> None:
    Asset.objects.filter(pk=asset.pk).update(in_gallery=False)
    asset.in_gallery = False


class _System:
    """The enrol command acts for the library itself."""

    is_authenticated = is_active = is_staff = True
    pk = None


def faces_name_group(*, face_ids: list[int], user, name: str) -> int:
    """Name several faces at once (a group of look-alikes on the people page); returns how many were named."""
    faces = list(Face.objects.filter(pk__in=face_ids).select_related("asset"))
    if not faces:
        raise ValidationError("Choose at least one face.")
    for face in faces:
        _check(user, face)
    person = person_get_or_create(name, approved=user_vouches(user))
    for face in faces:
        face_name(face=face, user=user, person=person)
    return len(faces)


# ---------------------------------------------------------------------------------------------------------------
# People moderation (the admin): rename, merge, split off faces, hide. Only moderators may; each change is logged,
# and every photo it touches gets its aws_rek_face data and auto tags rebuilt by faces_result_refresh.


def _assets_refresh(asset_ids) -> None:
    for asset in Asset.objects.filter(pk__in=set(asset_ids)).order_by("pk"):
        faces_result_refresh(asset=asset)


def _person_tag_follow(*, old_name: str, new_name: str, user) -> None:
    """The tag of a person's old name becomes (or joins) the tag of the new one, people's own uses too."""
    old = Tag.objects.filter(name__iexact=old_name).first()
    if old is None or old_name.lower() == new_name.lower() and old.name == new_name:
        return
    new = Tag.objects.filter(name__iexact=new_name).exclude(pk=old.pk).first()
    if new is None:
        watch = TagUsesWatch(tag_ids=[old.pk])
        old.name, old.slug = new_name, tag_slug_unique(old, new_name)
        old.save(update_fields=["name", "slug"])
        tag_usage_refresh([old.pk])
        watch.notify()
    else:
        tags_merge_into(sources=[old], target=new, user=user)


def person_rename(*, person: Person, name: str, user) -> Person:
    """Rename a person; their photos' face data and name tags follow."""
    moderator_check(user)
    name = " ".join(str(name).split())
    if not name or len(name) > 200:
        raise ValidationError("A name is 1 to 200 characters.")
    other = Person.objects.filter(name__iexact=name).exclude(pk=person.pk).first()
    if other is not None:
        raise ValidationError(f"There is already someone called “{other.name}”: merge them instead.")
    old = person.name
    if old == name:
        return person
    with transaction.atomic():
        person.name = name
        person.save(update_fields=["name"])
        _person_tag_follow(old_name=old, new_name=name, user=user)
        _assets_refresh(Face.objects.filter(person=person).values_list("asset_id", flat=True))
        moderation_log(user=user, objects=[person], flag=CHANGE, message=f"Renamed from “{old}” to “{name}”.")
    return person


def people_merge(*, people, target: Person, user) -> int:
    """These people are one, `target`: their faces, corrections and name tags become the target's.

    Returns how many faces moved. The merged people are deleted.
    """
    moderator_check(user)
    sources = [p for p in people if p.pk != target.pk]
    if not sources:
        raise ValidationError("Choose at least one person other than the one to merge into.")
    source_ids = [p.pk for p in sources]
    with transaction.atomic():
        faces = Face.objects.filter(person_id__in=source_ids)
        asset_ids = set(faces.values_list("asset_id", flat=True))
        moved = faces.update(person=target)
        # "Not A" is now "not the target", once per face; a face that is the target cannot also be "not them".
        rejections = list(FaceRejection.objects.filter(person_id__in=source_ids).values_list("pk", "face_id"))
        seen = set(FaceRejection.objects.filter(person=target).values_list("face_id", flat=True))
        keep = []
        for pk, face_id in rejections:
            if face_id not in seen:
                keep.append(pk)
                seen.add(face_id)
        FaceRejection.objects.filter(pk__in=keep).update(person=target)
        FaceRejection.objects.filter(person=target, face__person=target).delete()
        for source in sources:
            _person_tag_follow(old_name=source.name, new_name=target.name, user=user)
        names = ", ".join(f"“{p.name}”" for p in sources)
        moderation_log(user=user, objects=[target], flag=CHANGE,
                       message=f"Merged {names} into this person: {moved} faces moved.")
        moderation_log(user=user, objects=sources, flag=DELETION, message=f"Merged into “{target.name}”.")
        Person.objects.filter(pk__in=source_ids).delete()
        _assets_refresh(asset_ids)
    return moved


def faces_clear(*, faces, user) -> int:
    """Split wrongly grouped faces off their person: never matched to them again. Returns how many."""
    moderator_check(user)
    with transaction.atomic():
        chosen = list(Face.objects.filter(pk__in=faces.values("pk"), person__isnull=False).select_related(
            "person", "asset"))
        if not chosen:
            return 0
        FaceRejection.objects.bulk_create(
            [FaceRejection(face=f, person_id=f.person_id, created_by=user) for f in chosen], ignore_conflicts=True
        )
        moderation_log_each(user=user, flag=CHANGE, entries=[
            (f, f"Not {f.person.name}: cleared, and never matched to them again.") for f in chosen])
        Face.objects.filter(pk__in=[f.pk for f in chosen]).update(
            person=None, person_source="", match_confidence=None, celebrity_id="", celebrity_urls=[],
            example_approved=False,
        )
        _assets_refresh(f.asset_id for f in chosen)
    return len(chosen)


def faces_move(*, faces, user, person: Person | None = None, name: str | None = None) -> tuple[Person, int]:
    """These faces are someone else (an existing person, or a new one by name): a correction like face_name."""
    moderator_check(user)
    with transaction.atomic():
        person = person or person_get_or_create(name or "", approved=True)
        chosen = list(Face.objects.filter(pk__in=faces.values("pk")).exclude(
            person=person, person_source=Face.SOURCE_USER).select_related("person", "asset"))
        if not chosen:
            return person, 0
        FaceRejection.objects.bulk_create(
            [FaceRejection(face=f, person_id=f.person_id, created_by=user)
             for f in chosen if f.person_id and f.person_id != person.pk],
            ignore_conflicts=True,
        )
        FaceRejection.objects.filter(face__in=[f.pk for f in chosen], person=person).delete()
        moderation_log_each(user=user, flag=CHANGE, entries=[
            (f, f"Moved from {f.person.name if f.person_id else 'nobody'} to {person.name}.") for f in chosen])
        Face.objects.filter(pk__in=[f.pk for f in chosen]).update(
            person=person, person_source=Face.SOURCE_USER, match_confidence=100.0, celebrity_id="",
            celebrity_urls=[], example_approved=True,  # a moderator's word
        )
        _assets_refresh(f.asset_id for f in chosen)
        person_id = person.pk
        transaction.on_commit(lambda: _recheck_enqueue(person_id))
    return person, len(chosen)


def people_hide(*, people, user, hidden: bool = True) -> int:
    """Hide people (left out of the people pages, never auto-tagged; their auto tags go) or show them again."""
    moderator_check(user)
    with transaction.atomic():
        changing = list(people.exclude(hidden=hidden))
        if not changing:
            return 0
        Person.objects.filter(pk__in=[p.pk for p in changing]).update(hidden=hidden)
        if hidden:
            names = [p.name.lower() for p in changing]
            auto = AssetTag.objects.annotate(lower_name=Lower("tag__name")).filter(
                source=FACES_ADDON, lower_name__in=names)
            tag_ids = set(auto.values_list("tag_id", flat=True))
            AssetTag.objects.filter(pk__in=auto.values("pk")).delete()
            tag_usage_refresh(tag_ids)
        else:
            _assets_refresh(Face.objects.filter(person__in=changing).values_list("asset_id", flat=True))
        moderation_log(user=user, objects=changing, flag=CHANGE,
                       message="Hidden: not listed, not auto-tagged." if hidden else "Shown again.")
    return len(changing)


def people_approve(*, people, user, approved: bool = True) -> int:
    """Approve people (a moderator vouches for them and their example faces as they are now: they are recognised on
    everyone's photos), or withdraw it (recognised again only on the photos of whoever named each example face).

    A face named later by a user who is not staff is an example for that user's photos only, until approved again.
    Returns how many people were approved (or had their approval withdrawn).
    """
    moderator_check(user)
    with transaction.atomic():
        chosen = list(people)
        ids = [p.pk for p in chosen]
        changing = [p for p in chosen if p.approved != approved]
        Person.objects.filter(pk__in=ids).update(approved=approved)
        if approved:
            Face.objects.filter(person_id__in=ids, person_source=Face.SOURCE_USER).update(example_approved=True)
        else:
            # Matches may have come from examples that count no more: forget them all, the re-check below finds
            # again those that still hold.
            auto = Face.objects.filter(person_id__in=ids, person_source=Face.SOURCE_AUTO)
            asset_ids = set(auto.values_list("asset_id", flat=True))
            auto.update(person=None, person_source="", match_confidence=None)
            _assets_refresh(asset_ids)
        # Approving again vouches for the example faces named since: logged each time.
        logged = chosen if approved else changing
        if logged:
            moderation_log(user=user, objects=logged, flag=CHANGE,
                           message="Approved: recognised on everyone's photos." if approved
                           else "Approval withdrawn: recognised only on the photos of whoever named them.")
        for person_id in ids:
            transaction.on_commit(lambda person_id=person_id: _recheck_enqueue(person_id))
    return len(logged)
