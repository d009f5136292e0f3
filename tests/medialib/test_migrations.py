"""medialib's data migrations, run through Django's migration executor on the historical models."""
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("medialib", "0003_renditions_missing")]
AFTER = [("medialib", "0004_flag_missing_renditions")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def at_0003(transactional_db):
    apps = _migrate(BEFORE)
    yield apps
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def _asset(apps, public_id, *, version=1, **fields):
    Asset = apps.get_model("medialib", "Asset")
    return Asset.objects.create(public_id=public_id, file=f"originals/{public_id}.jpg", format="jpg", width=10,
                                height=10, bytes=100, sha256="0" * 64, version=version, **fields)


def _rendition(apps, asset, spec, version):
    Rendition = apps.get_model("medialib", "Rendition")
    Rendition.objects.create(asset_id=asset.pk, spec=spec, version=version, file=f"r/{asset.pk}-{spec}-{version}.jpg",
                             width=10, height=10)


def test_0004_flags_the_assets_missing_a_rendition_of_their_current_version(at_0003, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    apps = at_0003
    complete = _asset(apps, "complete", version=2)
    for spec in ("thumb", "preview"):
        _rendition(apps, complete, spec, 2)
    none = _asset(apps, "none")
    half = _asset(apps, "half")
    _rendition(apps, half, "thumb", 1)
    old_version = _asset(apps, "old_version", version=3)  # renditions only of an earlier version
    for spec in ("thumb", "preview"):
        _rendition(apps, old_version, spec, 2)
    queued_at = timezone.now() - timedelta(minutes=1)
    already = _asset(apps, "already", renditions_missing=True, renditions_queued_at=queued_at)

    apps = _migrate(AFTER)
    Asset = apps.get_model("medialib", "Asset")
    flags = dict(Asset.objects.values_list("public_id", "renditions_missing"))
    assert flags == {"complete": False, "none": True, "half": True, "old_version": True, "already": True}
    assert not Asset.objects.filter(pk__in=[none.pk, half.pk, old_version.pk],
                                    renditions_queued_at__isnull=False).exists()
    assert Asset.objects.get(pk=already.pk).renditions_queued_at == queued_at  # left as the sweep had it

    # The sweep (today's code, on the migrated schema) queues what was flagged, at once.
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    from medialib import services
    from medialib.queueing import broker_pause_reset
    from medialib.tasks import renditions_generate

    sent = []
    broker_pause_reset()
    monkeypatch.setattr(renditions_generate, "apply_async", lambda args, retry: sent.append(args))
    assert sorted(services.renditions_sweep()) == sorted([none.pk, half.pk, old_version.pk])
    assert sorted(sent) == sorted([(none.pk,), (half.pk,), (old_version.pk,)])


def test_0004_is_one_update_whatever_the_number_of_assets(at_0003):
    from django.test.utils import CaptureQueriesContext

    apps = at_0003
    for n in range(30):
        _asset(apps, f"a{n}")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    with CaptureQueriesContext(connection) as queries:
        executor.migrate(AFTER)
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("UPDATE")
               and "medialib_asset" in q["sql"]]
    assert len(updates) == 1, updates
    assert apps.get_model("medialib", "Asset").objects.filter(renditions_missing=True).count() == 30


def test_0006_gives_every_existing_asset_its_own_asset_id_and_new_ones_get_one_too(transactional_db):
    import re

    try:
        apps = _migrate([("medialib", "0005_delivery")])
        for index in range(5):
            _asset(apps, f"old{index}")
        apps = _migrate([("medialib", "0006_asset_id_context_folder")])
        Asset = apps.get_model("medialib", "Asset")
        ids = list(Asset.objects.values_list("asset_id", flat=True))
        assert len(ids) == 5 == len(set(ids)) and all(re.fullmatch(r"[0-9a-f]{32}", value) for value in ids)
        assert [(row.context, row.asset_folder) for row in Asset.objects.all()] == [({}, "")] * 5
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    from medialib.models import Asset as Current

    fresh = Current.objects.create(public_id="fresh", file="f.jpg", format="jpg", width=1, height=1, bytes=1,
                                   sha256="0" * 64, version=1)
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.asset_id) and fresh.asset_id not in ids
