"""Reads of the analysis pipeline: an asset's `info`, shaped like Cloudinary's responses."""
from __future__ import annotations

from medialib.models import Asset

from .addons import ADDONS
from .models import AnalysisResult


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
    results = asset.analyses.all() if asset.pk else []
    for result in results:
        if addons is not None and result.addon not in addons:
            continue
        addon = ADDONS.get(result.addon)
        if addon is None:
            continue
        info.setdefault(addon.parameter, {})[result.addon] = result_info(result, with_data=with_data)
    return info


def analysis_statuses(asset: Asset) -> dict[str, str]:
    return {result.addon: result.status for result in asset.analyses.all()}


def people_list():
    """Every person not hidden, with how many photos they are in, and one of their faces for a thumbnail."""
    from django.db.models import Case, Count, IntegerField, OuterRef, Subquery, Value, When

    from .models import Face, Person

    # A face someone named is the most trustworthy picture of them; then the surest detection.
    named_first = Case(When(person_source=Face.SOURCE_USER, then=Value(0)), default=Value(1), output_field=IntegerField())
    cover = Face.objects.filter(person=OuterRef("pk")).order_by(named_first, "-confidence").values("pk")[:1]
    return (
        Person.objects.filter(hidden=False)  # hidden by a moderator
        .annotate(photos=Count("faces__asset", distinct=True), cover_face=Subquery(cover))
        .filter(photos__gt=0)
        .order_by("name")
    )


def person_assets(person, *, before: int | None = None, limit: int = 48) -> tuple[list, int | None]:
    """A page of the person's photos, newest first, ready for gallery tiles, and the cursor of the next page
    (keyset on the asset id, as the gallery): someone in thousands of photos gets pages, not one long list."""
    from medialib.selectors import tiles_by_ids

    ids = Asset.objects.filter(faces__person=person).distinct().order_by("-pk")
    if before is not None:
        ids = ids.filter(pk__lt=before)
    ids = list(ids.values_list("pk", flat=True)[:limit + 1])
    assets = tiles_by_ids(ids=ids[:limit])
    return assets, (assets[-1].pk if len(ids) > limit and assets else None)


def unnamed_face_groups(*, user, limit: int = 500, threshold: float = 0.5) -> list[list]:
    """Faces nobody has named that this user may name, grouped by likeness (dlib's Chinese whispers).

    Groups with the most faces first, so naming one group names many photos at once.
    """
    from .models import Face

    faces = Face.objects.filter(person__isnull=True).select_related("asset").order_by("-pk")
    if not user.is_staff:  # the same rule as medialib.selectors.asset_can_edit
        faces = faces.filter(asset__uploaded_by=user)
    faces = list(faces[:limit])
    with_embedding = [f for f in faces if f.embedding]
    groups: dict[int, list] = {}
    if len(with_embedding) > 1:
        import dlib

        labels = dlib.chinese_whispers_clustering([dlib.vector(f.embedding) for f in with_embedding], threshold)
        for face, label in zip(with_embedding, labels):
            groups.setdefault(label, []).append(face)
    else:
        groups = {i: [f] for i, f in enumerate(with_embedding)}
    result = sorted(groups.values(), key=lambda g: (-len(g), -g[0].pk))
    result += [[f] for f in faces if not f.embedding]
    return result


def asset_faces(asset: Asset) -> list:
    """The asset's faces for its page: largest first, with their person."""
    from .models import Face

    return list(Face.objects.filter(asset=asset).select_related("person").order_by("index"))
