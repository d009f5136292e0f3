"""search.tasks: the periodic upkeep, and its place in the beat schedule."""
import pytest
from django.conf import settings as django_settings

from medialib.models import Tag
from search import tasks
from search.models import TagCooccurrence

pytestmark = pytest.mark.django_db


def test_beat_runs_the_upkeep():
    scheduled = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"search.tasks.tag_usage_refresh", "search.tasks.search_refresh"} <= scheduled


def test_tasks_refresh_counts_and_rebuild_the_table(library, settings):
    Tag.objects.filter(name="dog").update(usage_count=0)
    assert tasks.tag_usage_refresh.apply().get() == 1
    assert Tag.objects.get(name="dog").usage_count == 3
    settings.SEARCH_COOCCURRENCE_MIN_USES = 2
    result = tasks.search_refresh.apply().get()
    assert result == {"usage_counts_changed": 0, "cooccurrence_rows": TagCooccurrence.objects.count()}
    assert TagCooccurrence.objects.filter(tag__name="dog").count() == 4
    # Running it again leaves the same table.
    tasks.search_refresh.apply().get()
    assert TagCooccurrence.objects.filter(tag__name="dog").count() == 4
