"""A person hidden by a moderator is not offered by autocomplete nor found by person: searches."""
import pytest

from search import sql
from tagging.models import Person

pytestmark = pytest.mark.django_db


def test_hidden_people_are_not_searchable():
    Person.objects.create(name="Ada Lovelace")
    Person.objects.create(name="Ada Hidden", hidden=True)
    assert [row[1] for row in sql.people_matching("ada", 10)] == ["Ada Lovelace"]
    assert sql.people_by_names(["Ada Hidden"]) == {}
    assert list(sql.people_by_names(["ada lovelace"])) == ["ada lovelace"]
