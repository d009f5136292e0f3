"""Helpers the tagging tests share: uploads analysed on the spot, and what they ended up with."""
from django.contrib.admin.models import LogEntry

from medialib import services as media_services
from medialib.models import AssetTag
from tagging.models import AnalysisResult
from tagging.services import analysis as analysis_services
from tests import images
from tests.conftest import asset_upload, upload_file

RED, GREEN, BLUE = (240, 10, 10), (10, 240, 10), (10, 20, 240)


def analyse_photo(user, name, *, addons=("aws_rek_face",), auto_tagging=0.7, renditions=False):
    """One of the real photos (tests/photos) uploaded and analysed now, in this process."""
    asset = asset_upload(file=upload_file(images.photo_bytes(name), name), uploaded_by=user,
                                        addons=list(addons), auto_tagging=auto_tagging)
    if renditions:
        media_services.renditions_generate(asset_id=asset.pk)
    analysis_services.analysis_run(asset_id=asset.pk)
    return asset


def analysed(user, color=RED, *, width=40, height=80, tags=(), auto_tagging=0.5, addons=("aws_rek_tagging",)):
    """A plain image for the fake backend, analysed now (portrait by default: no face)."""
    asset = asset_upload(
        file=upload_file(images.jpeg(width, height, color=color)), uploaded_by=user, tags=list(tags),
        addons=list(addons), auto_tagging=auto_tagging,
    )
    analysis_services.analysis_run(asset_id=asset.pk)
    return asset


def reanalyse(asset, auto_tagging=0.5, addons=("aws_rek_tagging",)):
    analysis_services.analysis_request(asset=asset, addons=list(addons), auto_tagging=auto_tagging)
    analysis_services.analysis_run(asset_id=asset.pk)


def face_photo(user, color=RED):
    """A landscape image: the fake detector finds one face in it."""
    return analysed(user, color, width=80, height=40, addons=("aws_rek_face",), auto_tagging=0.6)


def tags_of(asset) -> dict[str, tuple[str, float | None]]:
    return {t.tag.name: (t.source, t.confidence) for t in AssetTag.objects.filter(content_object=asset)
            .select_related("tag")}


def names_in(asset) -> list[str]:
    data = AnalysisResult.objects.get(asset=asset, addon="aws_rek_face").data
    return [c["name"] for c in data["celebrity_faces"]]


def logged(user, flag=None) -> list[str]:
    entries = LogEntry.objects.filter(user=user).order_by("pk")
    if flag is not None:
        entries = entries.filter(action_flag=flag)
    return [f"{e.object_repr}: {e.change_message}" for e in entries]


def use(asset, name) -> AssetTag:
    return AssetTag.objects.get(content_object=asset, tag__name=name)


def besides_regrouping(callbacks) -> list:
    """The on_commit callbacks other than the face groups' regrouping, which every change of a face queues too."""
    return [callback for callback in callbacks if not callback.__qualname__.startswith("face_groups_touch.")]
