"""seed_library and search_refresh: a small synthetic library that the search then finds its way in."""
import pytest
from django.core.management import call_command

from medialib.models import Asset, AssetTag, Tag
from search import selectors
from search.models import TagCooccurrence
from search.seed import tag_uses, zipf_exponent
from tagging.models import AnalysisResult, Face, Person

pytestmark = pytest.mark.django_db


def test_zipf_shape():
    import numpy as np

    exponent = zipf_exponent(20_000, 10.0, 0.4)
    shares = np.minimum(0.4, 0.4 / np.arange(1, 20_001) ** exponent)
    assert shares.sum() == pytest.approx(10.0, rel=1e-3)
    assert shares[0] == 0.4 and shares[-1] < 0.001  # a few very common tags, a long tail

    rng = np.random.default_rng(1)
    assets, tags, bursts = tag_uses(assets=20_000, tags=2_000, per_asset=10, rng=rng)
    assert len(assets) == pytest.approx(200_000, rel=0.05)
    pairs = set(zip(assets.tolist(), tags.tolist()))
    assert len(pairs) == len(assets)  # never the same tag twice on an asset
    for index, start in list(bursts.items())[:20]:
        on = assets[tags == index]
        assert on.min() >= start * 20_000 - 1 and on.max() - on.min() <= 20_000 * 90 / (3 * 365.25) + 1


def test_seed_library_then_search(capsys):
    call_command("seed_library", "--assets", "400", "--tags", "300", "--people", "6", "--person-share", "0.1")
    out = capsys.readouterr().out
    assert "Seeded 400 assets" in out
    seeded = Asset.objects.filter(public_id__startswith="seed/")
    assert seeded.count() == 400
    assert set(seeded.values_list("file", flat=True)) == {"seed/placeholder.jpg"}
    uses = AssetTag.objects.filter(content_object__in=seeded)
    assert 3_000 < uses.count() < 5_000
    assert uses.filter(source="manual", confidence__isnull=True).exists()
    assert not uses.exclude(source="manual").filter(confidence__isnull=True).exists()
    sample = uses.select_related("content_object")[:200]
    assert all(use.asset_created_at == use.content_object.created_at for use in sample)
    assert Face.objects.filter(asset__in=seeded, person__isnull=False).count() == 40
    assert Person.objects.count() == 6
    assert AnalysisResult.objects.filter(asset__in=seeded).count() == 400
    top = Tag.objects.order_by("-usage_count").first()
    assert top.name == "person" and top.usage_count == pytest.approx(160, abs=40)
    assert TagCooccurrence.objects.count() == 0  # no tag reaches the default 5,000 uses here

    page = selectors.search(text="person -outdoors", limit=10)
    assert len(page.assets) == 10 and page.count.value > 10
    someone = Person.objects.order_by("name").first()
    assert selectors.search(text=f'person:"{someone.name}"', limit=10).assets


def test_search_refresh_command(settings, capsys):
    call_command("seed_library", "--assets", "300", "--tags", "100", "--people", "2", "--no-refresh")
    assert Tag.objects.filter(usage_count__gt=0).count() == 0
    settings.SEARCH_COOCCURRENCE_MIN_USES = 50
    call_command("search_refresh")
    out = capsys.readouterr().out
    assert "usage_count changed on" in out and "Co-occurrence table rebuilt" in out
    assert Tag.objects.filter(usage_count__gt=0).count() > 50
    popular = Tag.objects.filter(usage_count__gte=50).count()
    assert TagCooccurrence.objects.values("tag").distinct().count() == popular
