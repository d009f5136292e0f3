"""Reads of the tagging app: an asset's `info` shaped like Cloudinary's responses, what the pages show of its
analyses and tags, its faces, and the people."""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Prefetch, Q, Subquery, Value, When
from django.db.models.functions import Coalesce

from medialib.models import Asset, AssetTag
from medialib.page_images import page_image
from medialib.selectors import tiles_by_ids, visible_q

from .addons import ADDONS, AUTO_TAGGING_DEFAULT, LABELS_ADDON
from .models import AnalysisResult, Face, FaceGroup, Person


def analyses_prefetch(*, for_tiles: bool = False) -> Prefetch:
    """The `prefetch` that medialib.selectors' pages take, so that an asset's analyses come in one query per page
    (for tiles into a plain list)."""
    return Prefetch("analyses", queryset=AnalysisResult.objects.order_by("addon"),
                    to_attr="tile_analyses" if for_tiles else None)


def asset_analyses(asset: Asset) -> list[AnalysisResult]:
    """The asset's analysis results by add-on name, from what analyses_prefetch fetched when it did."""
    rows = getattr(asset, "tile_analyses", None)
    return rows if rows is not None else list(asset.analyses.all()) if asset.pk else []


def result_info(result: AnalysisResult, *, with_data: bool = True) -> dict:
    info: dict = {"status": result.status}
    if result.status == AnalysisResult.COMPLETE and with_data:
        info["data"] = result.data
    elif result.status == AnalysisResult.FAILED:
        info["error"] = {"message": result.error}
    return info


def asset_info(asset: Asset, *, with_data: bool = True, addons: list[str] | None = None) -> dict:
    """{"categorization": {"aws_rek_tagging": {...}}, "detection": {"aws_rek_face": {...}}} for what was asked."""
    info: dict = {}
    for result in asset_analyses(asset):
        if addons is not None and result.addon not in addons:
            continue
        addon = ADDONS.get(result.addon)
        if addon is None:
            continue
        info.setdefault(addon.parameter, {})[result.addon] = result_info(result, with_data=with_data)
    return info


def analysis_statuses(asset: Asset) -> dict[str, str]:
    return {result.addon: result.status for result in asset_analyses(asset)}


def people_list(*, user=None):
    """Every person not hidden, with how many photos (that the user may see) they are in, and one of their faces
    on those for a thumbnail; people on none of them are left out."""
    # A face someone named is the most trustworthy picture of them; then the surest detection.
    named_first = Case(When(person_source=Face.SOURCE_USER, then=Value(0)), default=Value(1), output_field=IntegerField())
    cover = (Face.objects.filter(visible_q(user, through="asset__"), person=OuterRef("pk"))
             .order_by(named_first, "-confidence").values("pk")[:1])
    visible_faces = visible_q(user, through="faces__asset__")
    return (
        Person.objects.filter(hidden=False)  # hidden by a moderator
        .annotate(photos=Count("faces__asset", distinct=True, filter=visible_faces or None),
                  cover_face=Subquery(cover))
        .filter(photos__gt=0)
        .order_by("name")
    )


def people_with_covers(*, user=None, page: int | None = None, per_page: int = 60) -> list[Person]:
    """people_list (one page of it if `page`, and one more person to tell there is a next), each with `photos` and
    `cover`: the Face of `cover_face`, with its asset (for the crop's delivery URL).

    In three short queries rather than people_list's one: the page's people by name with their covers (two top-1
    index lookups each: a named face, else the surest), then their photo counts, then the covers' faces; counting
    and sorting every person's faces is what made the page slow with many named faces."""
    visible = visible_q(user, through="asset__")
    named = (Face.objects.filter(visible, person=OuterRef("pk"), person_source=Face.SOURCE_USER)
             .order_by("-confidence").values("pk")[:1])
    surest = Face.objects.filter(visible, person=OuterRef("pk")).order_by("-confidence").values("pk")[:1]
    people = (Person.objects.filter(Exists(Face.objects.filter(visible, person=OuterRef("pk"))), hidden=False)
              .annotate(cover_face=Coalesce(Subquery(named), Subquery(surest))).order_by("name", "pk"))
    if page is not None:
        start = (max(1, page) - 1) * per_page
        people = people[start:start + per_page + 1]
    people = list(people)
    photos = dict(Face.objects.filter(visible, person_id__in=[person.pk for person in people]).values("person_id")
                  .annotate(photos=Count("asset_id", distinct=True)).values_list("person_id", "photos"))
    faces = {face.pk: face for face in face_cards(Face.objects.filter(
        pk__in=[person.cover_face for person in people if person.cover_face]))}
    for person in people:
        person.photos = photos.get(person.pk, 0)
        person.cover = faces.get(person.cover_face)
    return people


def people_awaiting_approval_count() -> int:
    """How many people wait for a moderator's approval (named by users who are not staff)."""
    return Person.objects.filter(approved=False).count()


def people_visible(*, user=None):
    """The people this user may know of: everyone; where photos are private (MEDIALIB_VISIBILITY), those on photos
    the user may see and the approved ones, so nobody learns the names others gave on their own photos."""
    people = Person.objects.order_by("name")
    if visible_q(user):
        people = people.filter(Q(approved=True) | Q(pk__in=Face.objects.filter(
            visible_q(user, through="asset__"), person__isnull=False).values("person_id")))
    return people


def people_known(*, user=None):
    """The people offered when naming a face: those the user may know of, but not the hidden ones."""
    return people_visible(user=user).filter(hidden=False)


def person_assets(person, *, before: int | None = None, limit: int = 48, user=None) -> tuple[list, int | None]:
    """A page of the person's photos that the user may see, newest first, ready for gallery tiles, and the cursor
    of the next page (keyset on the asset id, as the gallery): someone in thousands of photos gets pages."""
    ids = Asset.objects.filter(visible_q(user), faces__person=person).distinct().order_by("-pk")
    if before is not None:
        ids = ids.filter(pk__lt=before)
    ids = list(ids.values_list("pk", flat=True)[:limit + 1])
    assets = tiles_by_ids(ids=ids[:limit], prefetch=[analyses_prefetch(for_tiles=True)], user=user)
    return assets, (assets[-1].pk if len(ids) > limit and assets else None)


def _names_all_faces(user) -> bool:
    """Whether the user may name faces on everyone's photos (staff), as medialib.selectors.asset_can_edit."""
    return bool(user.is_staff)


@dataclass(frozen=True)
class PhotoRef:
    """What a face crop's delivery URL needs of its photo (medialib.page_images.page_image)."""

    public_id: str
    version: int
    width: int
    height: int
    format: str
    original_filename: str


@dataclass(frozen=True)
class FaceCard:
    """A face as the people page shows it: its box and its photo; not a model instance (a page has a few hundred,
    and building Face and Asset objects cost more than their queries), nor its embedding or landmarks."""

    pk: int
    left: float
    top: float
    width: float
    height: float
    asset: PhotoRef


_FACE_CARD_COLUMNS = ("pk", "left", "top", "width", "height", "asset__public_id", "asset__version", "asset__width",
                      "asset__height", "asset__format", "asset__original_filename")


def face_cards(faces) -> list[FaceCard]:
    """FaceCards of a Face queryset, in its order, in one query."""
    return [FaceCard(pk, left, top, width, height, PhotoRef(*photo))
            for pk, left, top, width, height, *photo in faces.values_list(*_FACE_CARD_COLUMNS)]


def face_groups_page(*, user, page: int = 1, per_page: int = 12, shown: int = 12) -> tuple[list[dict], bool]:
    """One page of the groups of look-alike unnamed faces this user may name (made by the worker:
    tagging.services.face_groups), largest first, and whether there is a next page. Each group is
    {"faces": up to `shown` of its faces still unnamed, newest first (FaceCards); "ids": all of them}.
    Three queries whatever the number of faces."""
    groups = FaceGroup.objects.order_by("-size", "-pk")
    if not _names_all_faces(user):
        groups = groups.filter(owner_key=user.pk)  # one owner's faces per group: never another user's
    start = (max(1, page) - 1) * per_page
    ids = list(groups.values_list("pk", flat=True)[start:start + per_page + 1])
    members: dict[int, list[int]] = {pk: [] for pk in ids[:per_page]}
    for pk, group_id in (Face.objects.filter(group_id__in=members, person__isnull=True).order_by("-pk")
                         .values_list("pk", "group_id")):
        members[group_id].append(pk)
    first = [pk for face_ids in members.values() for pk in face_ids[:shown]]
    faces = {face.pk: face for face in face_cards(Face.objects.filter(pk__in=first))}
    # A group whose faces were all named or deleted since it was made is left out until it is regrouped.
    return [{"faces": [faces[pk] for pk in face_ids[:shown] if pk in faces], "ids": face_ids}
            for face_ids in members.values() if face_ids], len(ids) > per_page


def faces_ungrouped(*, user, limit: int = 24) -> tuple[list[FaceCard], bool]:
    """The newest unnamed faces this user may name that are in no group (they look like nobody else, or the
    worker has not grouped them yet), and whether there are more."""
    faces = Face.objects.filter(person__isnull=True, group__isnull=True).order_by("-pk")
    if not _names_all_faces(user):
        faces = faces.filter(asset__uploaded_by=user)
    faces = face_cards(faces[:limit + 1])
    return faces[:limit], len(faces) > limit


def asset_faces(asset: Asset) -> list:
    """The asset's faces for its page: largest first, with their person."""
    faces = list(Face.objects.filter(asset=asset).select_related("person").order_by("index"))
    for face in faces:
        face.asset = asset  # for its crop's delivery URL, without a query per face
    return faces


def _face_json(face: Face) -> dict:
    data = {
        "bounding_box": {"width": round(face.width, 4), "height": round(face.height, 4),
                         "left": round(face.left, 4), "top": round(face.top, 4)},
        "confidence": round(face.confidence, 3),
        "landmarks": [{"type": lm["type"], "x": round(lm["x"], 4), "y": round(lm["y"], 4)} for lm in face.landmarks],
    }
    if face.pose is not None:
        data["pose"] = face.pose
    if face.quality is not None:
        data["quality"] = face.quality
    return data


def asset_faces_data(asset: Asset) -> dict:
    """The aws_rek_face data of an asset, from its Face rows."""
    celebrities, unrecognized = [], []
    for face in asset.faces.select_related("person").order_by("index"):
        if face.person_id:
            celebrities.append({
                "name": face.person.name,
                "id": face.celebrity_id or str(face.person_id),
                "urls": face.celebrity_urls,
                "match_confidence": round(face.match_confidence or 0.0, 2),
                "face": _face_json(face),
            })
        else:
            unrecognized.append(_face_json(face))
    return {"celebrity_faces": celebrities, "unrecognized_faces": unrecognized}


@dataclass
class AddonStatus:
    """What the pages show of one add-on's result on one asset."""

    addon: str
    title: str
    status: str
    error: str = ""
    auto_tagging: float | None = None
    labels: list[dict] = field(default_factory=list)  # aws_rek_tagging: {"tag", "confidence"}, best first
    faces: int | None = None  # aws_rek_face: how many faces were found
    people: list[str] = field(default_factory=list)  # aws_rek_face: the recognised ones' names

    @property
    def pending(self) -> bool:
        return self.status == AnalysisResult.PENDING

    @property
    def summary(self) -> str:
        """One line for people: what was found, or why it failed."""
        if self.status == AnalysisResult.PENDING:
            return "in progress…"
        if self.status == AnalysisResult.FAILED:
            return self.error or "failed"
        if self.faces is not None:
            found = {0: "no faces found", 1: "1 face found"}.get(self.faces, f"{self.faces} faces found")
            return f"{found}: {', '.join(self.people)}" if self.people else found
        count = len(self.labels)
        return {0: "no labels", 1: "1 label"}.get(count, f"{count} labels")


def addon_statuses(asset: Asset) -> list[AddonStatus]:
    """The asset's add-on results in the registry's order, from the prefetched rows when there are some."""
    by_addon = {result.addon: result for result in asset_analyses(asset)}
    statuses = []
    for name, addon in ADDONS.items():
        result = by_addon.get(name)
        if result is None:
            continue
        status = AddonStatus(
            addon=name, title=addon.title, status=result.status, auto_tagging=result.auto_tagging,
            error=result.error if result.status == AnalysisResult.FAILED else "",
        )
        if result.status == AnalysisResult.COMPLETE and isinstance(result.data, list):
            status.labels = sorted(result.data, key=lambda item: -float(item.get("confidence", 0)))
        elif result.status == AnalysisResult.COMPLETE and isinstance(result.data, dict):
            celebrities = result.data.get("celebrity_faces") or []
            status.faces = len(celebrities) + len(result.data.get("unrecognized_faces") or [])
            status.people = [face.get("name", "") for face in celebrities]
        statuses.append(status)
    return statuses


def analysis_defaults(asset: Asset) -> dict:
    """What a re-run offers: the add-ons and threshold of the last request on this asset (all add-ons if none)."""
    results = list(asset.analyses.all())
    if not results:
        return {"addons": list(ADDONS), "auto_tagging": AUTO_TAGGING_DEFAULT}
    # One request stamps all its add-ons with the same time.
    last = max(r.requested_at for r in results)
    latest = [r for r in results if r.requested_at == last]
    return {
        "addons": [name for name in ADDONS if any(r.addon == name for r in latest)],
        "auto_tagging": latest[0].auto_tagging,
    }


def tag_items(asset: Asset) -> list[dict]:
    """The asset's tags with where each came from: "manual", or the add-on that found it and how sure it was."""
    items = []
    for item in asset.tagged_items.all():
        addon = ADDONS.get(item.source)
        items.append({
            "name": item.tag.name,
            "source": item.source,
            "auto": item.source != AssetTag.SOURCE_MANUAL,
            "source_title": f"{addon.title} ({addon.name})" if addon else item.source,
            "confidence": item.confidence,
        })
    return items


def asset_status(asset: Asset, *, with_labels: bool = False) -> dict:
    """The JSON the pages poll while an asset is being worked on: add-on statuses, tags, and the delivery URLs of
    its tile and preview (1x)."""
    statuses = addon_statuses(asset)
    analyses = {}
    for status in statuses:
        entry: dict = {"title": status.title, "status": status.status, "summary": status.summary,
                       "auto_tagging": status.auto_tagging}
        if status.status == AnalysisResult.FAILED:
            entry["error"] = {"message": status.error}
        if status.faces is not None:
            entry["faces"] = status.faces
            entry["people"] = status.people
        if with_labels and status.addon == LABELS_ADDON:
            entry["labels"] = status.labels
        analyses[status.addon] = entry
    return {
        "id": asset.pk,
        "public_id": asset.public_id,
        "analyses": analyses,
        "tags": tag_items(asset),
        "thumb": page_image(asset, "tile").src,
        "preview": page_image(asset, "preview").src,
        "pending": any(s.pending for s in statuses),
    }


def face_boxes(asset: Asset) -> list[tuple[int, int, int, int]]:
    """The faces this library knows on an asset (the aws_rek_face analysis' Face rows), as (left, top, width,
    height) in pixels of the image as displayed, largest first: what delivery's g_face, g_faces and g_auto crop to."""
    rows = Face.objects.filter(asset=asset).order_by("index").values_list("left", "top", "width", "height")
    return [(round(left * asset.width), round(top * asset.height), max(1, round(width * asset.width)),
             max(1, round(height * asset.height))) for left, top, width, height in rows]
