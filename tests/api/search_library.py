"""A small library for the Search API tests: twelve images whose answers to expressions are written by hand."""
from datetime import datetime, timedelta, timezone

from medialib import services as media_services
from medialib.models import Asset, AssetTag, Tag
from tagging.models import Face, Person

# name: (public_id, format, width, height, bytes, {tag: (source, confidence)}, context, asset_folder, created, owner)
# created: a timedelta is that long before now, a datetime is that moment.
LIBRARY = {
    "dog1": ("animals/dog1", "jpg", 800, 600, 200_000, {"dog": ("aws_rek_tagging", 0.95), "beach": ("manual", None)},
             {"alt": "A dog"}, "animals", timedelta(hours=2), "alice"),
    "dog2": ("animals/dog2", "png", 600, 800, 1_500_000, {"dog": ("aws_rek_tagging", 0.7), "park": ("manual", None)},
             {"alt": "Dog in park", "caption": "sunny"}, "animals", timedelta(days=3), "alice"),
    "cat1": ("animals/cats/cat1", "jpg", 400, 300, 50_000, {"cat": ("manual", None), "sofa": ("aws_rek_tagging", 0.9)},
             {}, "animals/cats", timedelta(days=10), "alice"),
    "cat2": ("animals/cats/cat2", "webp", 1000, 1000, 3_000_000, {"cat": ("aws_rek_tagging", 0.6),
                                                                  "dog": ("manual", None)},
             {}, "animals/cats", timedelta(days=40), "alice"),
    "beach": ("trips/beach", "jpg", 1920, 1080, 5_000_000, {"beach": ("manual", None), "sea": ("aws_rek_tagging", 0.99)},
              {"alt": "Sea"}, "trips", datetime(2024, 3, 1, 12, tzinfo=timezone.utc), "alice"),
    "mountain": ("trips/mountain", "jpg", 1200, 1600, 800_000, {"mountain": ("manual", None),
                                                                "snow peak": ("manual", None)},
                 {}, "trips", datetime(2024, 3, 2, 12, tzinfo=timezone.utc), "alice"),
    "city": ("trips/2023/city", "gif", 320, 240, 10_000, {"city": ("manual", None)}, {}, "trips/2023",
             datetime(2023, 6, 15, 12, tzinfo=timezone.utc), "alice"),
    "portrait": ("portrait", "jpg", 600, 900, 300_000, {"Barack Obama": ("aws_rek_face", 0.99)}, {}, "",
                 datetime(2024, 5, 1, 12, tzinfo=timezone.utc), "bob"),
    "cafe": ("cafe", "png", 500, 500, 120_000, {"Café Crème": ("manual", None)}, {"caption": "coffee: hot"}, "",
             datetime(2024, 6, 1, 12, tzinfo=timezone.utc), "bob"),
    "quote": ("quote", "jpg", 640, 480, 70_000, {'say "cheese"': ("manual", None)}, {}, "",
              datetime(2024, 7, 1, 12, tzinfo=timezone.utc), "bob"),
    "scan": ("docs/scan", "tiff", 2480, 3508, 9_000_000, {}, {"alt": "scan"}, "docs",
             datetime(2025, 1, 1, 12, tzinfo=timezone.utc), "bob"),
    "mobile": ("mobile", "jpg", 1080, 1920, 400_000, {"mobile phone": ("aws_rek_tagging", 0.8)}, {}, "",
               datetime(2025, 2, 1, 12, tzinfo=timezone.utc), "bob"),
}
# Newest first, as the search answers by default.
NEWEST_FIRST = ["dog1", "dog2", "cat1", "cat2", "mobile", "scan", "quote", "cafe", "portrait", "mountain", "beach",
                "city"]
PUBLIC_IDS = {name: spec[0] for name, spec in LIBRARY.items()}
NAMES = {spec[0]: name for name, spec in LIBRARY.items()}


def library_create(users: dict) -> dict[str, Asset]:
    now = datetime.now(timezone.utc)
    assets = {}
    for name, (public_id, fmt, width, height, size, tags, context, folder, created, owner) in LIBRARY.items():
        asset = Asset.objects.create(
            public_id=public_id, file=f"test/{name}.{fmt}", original_filename=f"{name}.{fmt}", format=fmt,
            width=width, height=height, bytes=size, sha256=f"{len(assets):064x}", version=1, uploaded_by=users[owner],
            context=context, asset_folder=folder,
        )
        Asset.objects.filter(pk=asset.pk).update(created_at=now - created if isinstance(created, timedelta) else created)
        asset.refresh_from_db()
        for tag_name, (source, confidence) in tags.items():
            tag = Tag.objects.filter(name__iexact=tag_name).first() or Tag.objects.create(name=tag_name)
            AssetTag.objects.create(content_object=asset, tag=tag, source=source, confidence=confidence)
        assets[name] = asset
    obama = Person.objects.create(name="Barack Obama")
    Face.objects.create(asset=assets["portrait"], index=0, left=.3, top=.2, width=.2, height=.3, confidence=99.0,
                        person=obama, person_source=Face.SOURCE_AUTO, match_confidence=99.0)
    media_services.tag_usage_refresh()
    return assets
