"""A small library whose search answers are known by hand (see LIBRARY), on whichever database the run uses."""
from datetime import datetime, timedelta, timezone

import pytest

from medialib import services as media_services
from medialib.models import Asset, AssetTag, Tag
from tagging.models import AnalysisResult, Face, Person

START = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)

# name: (uploader, {tag: (source, confidence)}); created one day apart in this order, so the last is the newest.
LIBRARY = {
    "beach-dog": ("alice", {"dog": ("aws_rek_tagging", 0.95), "beach": ("manual", None)}),
    "park-dog": ("alice", {"dog": ("aws_rek_tagging", 0.7), "park": ("manual", None),
                           "mobile phone": ("aws_rek_tagging", 0.8)}),
    "cat-sofa": ("alice", {"cat": ("manual", None), "sofa": ("aws_rek_tagging", 0.9)}),
    "dog-cat": ("alice", {"dog": ("manual", None), "cat": ("aws_rek_tagging", 0.6)}),
    "beach": ("alice", {"beach": ("manual", None), "sea": ("aws_rek_tagging", 0.99)}),
    "cafe": ("bob", {"Café Crème": ("manual", None), "Été": ("manual", None)}),
    "cheese": ("bob", {'say "cheese"': ("manual", None)}),
    "html": ("bob", {"<b>bold</b>": ("manual", None)}),
    "obama": ("bob", {"Barack Obama": ("aws_rek_face", 0.99)}),
    "pending": ("bob", {}),
    "failed": ("bob", {}),
}
NAMES = list(LIBRARY)


def make_asset(name: str, *, user, created: datetime, tags: dict) -> Asset:
    asset = Asset.objects.create(
        public_id=f"test/{name}", file=f"test/{name}.jpg", original_filename=f"{name}.jpg", format="jpg",
        width=40, height=30, bytes=100, sha256="0" * 64, version=1, uploaded_by=user,
    )
    Asset.objects.filter(pk=asset.pk).update(created_at=created)
    asset.refresh_from_db()
    for tag_name, (source, confidence) in tags.items():
        tag = Tag.objects.filter(name__iexact=tag_name).first() or Tag.objects.create(name=tag_name)
        AssetTag.objects.create(content_object=asset, tag=tag, source=source, confidence=confidence)
    return asset


@pytest.fixture
def library(db, django_user_model):
    """{name: Asset} for LIBRARY, plus Barack Obama's face and two analyses not done."""
    users = {name: django_user_model.objects.create_user(username=name, password=f"{name}-password-1")
             for name in ("alice", "bob")}
    assets = {}
    for index, (name, (uploader, tags)) in enumerate(LIBRARY.items()):
        assets[name] = make_asset(name, user=users[uploader], created=START + timedelta(days=index), tags=tags)
    obama = Person.objects.create(name="Barack Obama")
    Face.objects.create(asset=assets["obama"], index=0, left=.3, top=.2, width=.2, height=.3, confidence=99.0,
                        person=obama, person_source=Face.SOURCE_AUTO, match_confidence=99.0)
    for name, status in (("pending", AnalysisResult.PENDING), ("failed", AnalysisResult.FAILED)):
        AnalysisResult.objects.create(asset=assets[name], addon="aws_rek_tagging", status=status,
                                      requested_at=START, error="broken" if status == "failed" else "")
    AnalysisResult.objects.create(asset=assets["beach"], addon="aws_rek_tagging", status=AnalysisResult.COMPLETE,
                                  requested_at=START)
    media_services.tag_usage_refresh()
    return assets


def newest_first(*names: str) -> list[str]:
    return sorted(names, key=NAMES.index, reverse=True)
