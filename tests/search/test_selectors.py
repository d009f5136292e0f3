"""search.selectors on the hand-built library: results, order, paging, counts, facets, autocomplete.

Runs on the database the suite runs on (SQLite by default, PostgreSQL in CI): the same answers on both.
"""
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medialib import services as media_services
from medialib.models import Tag
from search import query as q
from search import selectors, services
from search.models import TagCooccurrence

from .conftest import NAMES, START, make_asset, newest_first

pytestmark = pytest.mark.django_db

EVERYTHING = NAMES


def names(page) -> list[str]:
    assert not page.error, page.error
    return [asset.public_id.removeprefix("test/") for asset in page.assets]


def run(text, **kwargs):
    return selectors.search(text=text, limit=50, **kwargs)


@pytest.mark.parametrize("text, expected", [
    ("dog", ["beach-dog", "park-dog", "dog-cat"]),
    ("DOG", ["beach-dog", "park-dog", "dog-cat"]),
    ("Dog beach", ["beach-dog"]),
    ("dog AND beach", ["beach-dog"]),
    ("dog OR cat", ["beach-dog", "park-dog", "cat-sofa", "dog-cat"]),
    ("cat OR dog OR nosuchtag", ["beach-dog", "park-dog", "cat-sofa", "dog-cat"]),
    ("dog -cat", ["beach-dog", "park-dog"]),
    ("dog NOT cat", ["beach-dog", "park-dog"]),
    ("-dog -cat -beach -sofa", ["cafe", "cheese", "html", "obama", "pending", "failed"]),
    ("(dog OR cat) -sofa", ["beach-dog", "park-dog", "dog-cat"]),
    ("(dog OR beach) (park OR sea)", ["park-dog", "beach"]),
    ("dog (beach OR park) -\"mobile phone\"", ["beach-dog"]),
    ("NOT (dog OR cat) beach", ["beach"]),
    ("-(dog -cat)", [n for n in NAMES if n not in ("beach-dog", "park-dog")]),
    ('"mobile phone"', ["park-dog"]),
    ('"MOBILE   PHONE"', ["park-dog"]),
    ('"café crème"', ["cafe"]),
    ('"CAFÉ CRÈME"', ["cafe"]),
    ("été", ["cafe"]),
    ("ÉTÉ", ["cafe"]),
    ('"say \\"cheese\\""', ["cheese"]),
    ('"<b>bold</b>"', ["html"]),
    ('person:"barack obama"', ["obama"]),
    ("person:OBAMA", []),  # a person is named in full
    ('"Barack Obama"', ["obama"]),  # the tag auto-tagging gave the photo
    ("source:manual", ["beach-dog", "park-dog", "cat-sofa", "dog-cat", "beach", "cafe", "cheese", "html"]),
    ("source:auto", ["beach-dog", "park-dog", "cat-sofa", "dog-cat", "beach", "obama"]),
    ("source:aws_rek_face", ["obama"]),
    ("source:aws_rek_tagging", ["beach-dog", "park-dog", "cat-sofa", "dog-cat", "beach"]),
    ("source:aws_rek_tagging -dog", ["cat-sofa", "beach"]),
    ("source:aws_rek_face OR source:manual", ["beach-dog", "park-dog", "cat-sofa", "dog-cat", "beach", "cafe",
                                              "cheese", "html", "obama"]),
    ("dog source:manual", ["dog-cat"]),
    ("dog source:auto", ["beach-dog", "park-dog"]),
    ("dog source:aws_rek_tagging", ["beach-dog", "park-dog"]),
    ("(dog OR cat) source:manual", ["cat-sofa", "dog-cat"]),
    ("dog -source:manual", []),  # dog, and no tag put on by a person (park-dog has "park")
    ("-source:manual", ["obama", "pending", "failed"]),
    ("dog>=0.9", ["beach-dog"]),
    ("dog>0.7", ["beach-dog"]),
    ("dog>=0.7", ["beach-dog", "park-dog"]),
    ("dog<0.9", ["park-dog"]),  # the manual dog has no confidence
    ("confidence>=0.95", ["beach-dog", "beach", "obama"]),
    ("cat confidence>=0.5", ["dog-cat"]),
    ("status:pending", ["pending"]),
    ("status:failed", ["failed"]),
    ("status:failed OR status:pending", ["pending", "failed"]),
    ("-status:pending -status:failed", [n for n in NAMES if n not in ("pending", "failed")]),
    ("uploader:alice", ["beach-dog", "park-dog", "cat-sofa", "dog-cat", "beach"]),
    ("uploader:ALICE dog -beach", ["park-dog", "dog-cat"]),
    ("uploader:bob OR dog", [n for n in NAMES if n not in ("cat-sofa", "beach")]),
    ("date:2024-03-02", ["park-dog"]),
    ("date:2024-03-02..2024-03-04", ["park-dog", "cat-sofa", "dog-cat"]),
    ("date:2024-03-09..", ["obama", "pending", "failed"]),
    ("dog date:..2024-03-02", ["beach-dog", "park-dog"]),
    ("date:2023", []),
    ("dog OR date:2024-03-11", ["beach-dog", "park-dog", "dog-cat", "failed"]),
    ("nosuchtag", []),
    ("dog nosuchtag", []),
    ("-nosuchtag", EVERYTHING),
    ("dog OR -dog", EVERYTHING),
])
def test_results_match_the_known_answers_newest_first(library, text, expected):
    assert names(run(text)) == newest_first(*expected)


def test_unknown_names_are_noted(library):
    page = run('dog nosuchtag person:"Nobody" uploader:carol')
    assert page.assets == []
    assert page.notes == ["No photo has the tag “nosuchtag”.", "Nobody called “Nobody” is known here; see People.",
                          "There is no user “carol”."]
    assert page.count.value == 0


def test_malformed_query_comes_back_as_an_error_not_an_exception(library):
    page = run("dog (cat")
    assert page.error == "The “(” at character 5 is not closed."
    assert page.error_position == 4
    assert page.assets == []


@pytest.mark.parametrize("text", ["dog OR cat", "-sofa", "source:manual", "dog OR status:failed", "uploader:bob"])
def test_pages_walk_every_result_once_and_back(library, text):
    everything = names(run(text))
    seen, cursor, pages = [], None, []
    while True:
        page = selectors.search(text=text, cursor=cursor, limit=2)
        pages.append(page)
        seen += names(page)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == everything
    assert len(pages) == (len(everything) + 1) // 2
    # Back from the last page, newer and newer, to the first.
    back, cursor = [], pages[-1].prev_cursor
    while cursor:
        page = selectors.search(text=text, cursor=cursor, newer=True, limit=2)
        back = names(page) + back
        cursor = page.prev_cursor
    assert back + names(pages[-1]) == everything


def test_assets_created_at_the_same_moment_page_by_id(db, user):
    same = START + timedelta(days=30)
    made = [make_asset(f"same{i}", user=user, created=same, tags={"twin": ("manual", None)}) for i in range(5)]
    media_services.tag_usage_refresh()
    expected = [a.pk for a in sorted(made, key=lambda a: -a.pk)]
    for text in ("twin", "-nosuch", "twin OR nosuch"):
        seen, cursor = [], None
        while True:
            page = selectors.search(text=text, cursor=cursor, limit=2)
            seen += [a.pk for a in page.assets]
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        assert seen == expected, text


def test_a_bad_cursor_is_the_first_page(library):
    assert names(selectors.search(text="dog", cursor="nonsense", limit=50)) == names(run("dog"))


def test_counts_and_exact_facets(library):
    page = run("dog")
    assert (page.count.value, page.count.kind) == (3, "exact")
    assert page.facets_kind == "exact"
    assert {(f.name, f.count, f.approximate) for f in page.facets} == {
        ("beach", 1, False), ("park", 1, False), ("mobile phone", 1, False), ("cat", 1, False)}
    park = next(f for f in page.facets if f.name == "park")
    assert park.narrow == "dog park"
    assert park.exclude == "dog -park"
    assert names(run(park.narrow)) == ["park-dog"]


def test_facets_never_offer_the_query_s_own_tags(library):
    page = run("dog OR cat")
    assert "dog" not in {f.name for f in page.facets}
    assert "cat" not in {f.name for f in page.facets}
    # narrowing an OR keeps it whole
    beach = next(f for f in page.facets if f.name == "beach")
    assert beach.narrow == "(dog OR cat) beach"
    assert names(run(beach.narrow)) == ["beach-dog"]


def test_facet_links_of_awkward_tags_parse_back(library):
    page = run("cheese OR été OR \"<b>bold</b>\" OR \"say \\\"cheese\\\"\"")
    for facet in page.facets:
        assert q.parse(facet.narrow)
        assert names(run(facet.narrow))


def test_a_second_page_has_the_same_count(library):
    first = selectors.search(text="source:manual", limit=3)
    second = selectors.search(text="source:manual", cursor=first.next_cursor, limit=3)
    assert first.count.value == second.count.value == 8


def test_sampled_facets_are_marked_and_scaled(library, settings):
    user = library["beach"].uploaded_by
    for i in range(40):
        tags = {"many": ("manual", None), "other": ("manual", None)}
        if i % 2:
            tags["odd"] = ("manual", None)
        make_asset(f"m{i}", user=user, created=START + timedelta(days=40, minutes=i), tags=tags)
    media_services.tag_usage_refresh()
    settings.SEARCH_SAMPLE_SIZE = 5
    # Few candidates: counted exactly, facets on a sample.
    page = selectors.search(text="many source:manual", limit=0)
    assert (page.count.value, page.count.kind) == (40, "exact")
    assert page.facets_kind == "sample" and page.sample_every == 8
    other = next(f for f in page.facets if f.name == "other")
    assert other.approximate and other.count % 8 == 0 and 8 <= other.count <= 80

    settings.SEARCH_EXACT_COUNT_MAX = 20  # as if the library were big: the walk itself is sampled (about half)
    settings.SEARCH_SAMPLE_SIZE = 10  # facets on about half of that half (which half hangs on the ids)
    # not a plain tag (whose count is its usage_count), and an empty page: the count is not known from it
    page = selectors.search(text="many source:manual", limit=0)
    assert page.facets_kind == "sample"
    assert page.sample_every > 1
    other = next(f for f in page.facets if f.name == "other")
    assert other.approximate
    assert "many" not in {f.name for f in page.facets}
    assert page.count.approximate
    assert 10 <= page.count.value <= 120  # 40, estimated
    assert 10 <= other.count <= 120  # on every match


def test_the_sample_is_the_same_set_whichever_way_the_query_is_walked(library):
    from search import sql

    every_tag = q.Or(tuple(sql.TagIds((tag.pk,), 1) for tag in Tag.objects.all()))
    sampler = sql.Compiler(sample_buckets=sql.SAMPLE_BUCKETS // 3)

    def ids(compiler, node):
        return {row[0] for row in compiler.page(node, cursor=None, newer=False, limit=1000)}

    by_tags = ids(sampler, every_tag)
    by_assets = ids(sampler, sql.Everything())
    tagged = ids(sql.Compiler(), every_tag)
    assert by_tags == by_assets & tagged
    assert 0 < len(by_assets) < len(library)


def test_precomputed_facets_for_popular_tags(library, settings):
    settings.SEARCH_COOCCURRENCE_MIN_USES = 2
    result = services.search_refresh()
    assert result["cooccurrence_rows"] == TagCooccurrence.objects.count() > 0
    dog = Tag.objects.get(name="dog")
    assert set(TagCooccurrence.objects.filter(tag=dog).values_list("other__name", "assets")) == {
        ("beach", 1), ("park", 1), ("mobile phone", 1), ("cat", 1)}
    assert run("dog").facets_kind == "exact"  # every match on the first page: counting them live is cheaper
    page = selectors.search(text="dog", limit=2)
    assert page.facets_kind == "precomputed"
    assert (page.count.value, page.count.kind) == (3, "exact")
    assert {(f.name, f.count) for f in page.facets} == {("beach", 1), ("park", 1), ("mobile phone", 1), ("cat", 1)}
    assert page.facets_computed_at is not None


def test_pair_counts_come_from_the_cooccurrence_table_when_counting_live_is_dear(library, settings):
    settings.SEARCH_COOCCURRENCE_MIN_USES = 2
    services.search_refresh()
    settings.SEARCH_EXACT_COUNT_MAX = 0
    page = selectors.search(text="dog cat", limit=0)  # no rows on the page: the count is not known from it
    assert (page.count.value, page.count.kind) == (1, "estimate")


def test_usage_counts_are_refreshed_in_one_batch(library):
    dog = Tag.objects.get(name="dog")
    assert dog.usage_count == 3
    Tag.objects.filter(pk=dog.pk).update(usage_count=99)
    unused = Tag.objects.create(name="unused", usage_count=5)
    with CaptureQueriesContext(connection) as queries:
        changed = media_services.tag_usage_refresh()
    assert changed == 2
    assert len([query for query in queries.captured_queries if "UPDATE" in query["sql"]]) == 1
    dog.refresh_from_db()
    unused.refresh_from_db()
    assert (dog.usage_count, unused.usage_count) == (3, 0)
    Tag.objects.filter(pk=dog.pk).update(usage_count=7)
    assert media_services.tag_usage_refresh(tag_ids=[dog.pk]) == 1
    assert media_services.tag_usage_refresh(tag_ids=[]) == 0


def test_a_page_of_results_takes_a_fixed_number_of_queries(library):
    def count(text):
        with CaptureQueriesContext(connection) as queries:
            run(text)
        return len(queries.captured_queries)

    # as many for a tag on three photos as for one on one, and no more for an OR of four
    assert count("dog") == count("sofa")
    assert count("dog OR cat OR beach OR sea") <= count("dog")


@pytest.mark.parametrize("text, kind, expected", [
    ("do", "", [("tag", "dog", 3)]),
    ("DO", "", [("tag", "dog", 3)]),
    ("b", "", [("person", "Barack Obama", 1), ("tag", "Barack Obama", 1), ("tag", "beach", 2)]),
    ("obama", "", [("person", "Barack Obama", 1)]),  # a word of a person's name
    ("ba", "person", [("person", "Barack Obama", 1)]),
    ("b", "tag", [("tag", "Barack Obama", 1), ("tag", "beach", 2)]),
    ("mobile p", "", [("tag", "mobile phone", 1)]),
    ("caf", "", [("tag", "Café Crème", 1)]),
    ("ÉT", "", [("tag", "Été", 1)]),
    ("%", "", []),
    ("_", "", []),
    ("", "", []),
    ("zzz", "", []),
])
def test_suggestions(library, text, kind, expected):
    found = selectors.suggestions(text=text, kind=kind)
    assert sorted((s["kind"], s["name"], s["count"]) for s in found) == sorted(expected)


def test_suggestions_insert_what_the_language_needs(library):
    found = {s["name"]: s["insert"] for s in selectors.suggestions(text="m")}
    assert found["mobile phone"] == '"mobile phone"'
    person = selectors.suggestions(text="barack", kind="person")[0]
    assert person["insert"] == 'person:"Barack Obama"'


def test_suggestions_count_new_tags_live(library):
    """usage_count waits for the next batch refresh; a new tag is counted live meanwhile."""
    make_asset("new", user=library["beach"].uploaded_by, created=START + timedelta(days=50),
               tags={"dogsled": ("manual", None)})
    found = selectors.suggestions(text="dogs")
    assert [(s["name"], s["count"]) for s in found] == [("dogsled", 1)]


def test_the_gallery_filters_compile_to_the_same_query(library):
    from search.forms import GalleryFilterForm

    form = GalleryFilterForm({"tag": "dog", "uploader": "alice", "date_from": "2024-03-01", "date_to": "2024-03-03"})
    assert form.is_valid(), form.errors
    node = form.node()
    assert q.unparse(node) == "dog uploader:alice date:2024-03-01..2024-03-03"
    assert names(selectors.query_page(node=node, limit=50)) == ["park-dog", "beach-dog"]
    empty = GalleryFilterForm({})
    assert empty.is_valid() and empty.node() is None


def test_the_sample_buckets_spread_evenly_over_any_run_of_ids():
    from search import sql

    # A sample of k buckets is about k / 1024 of any set of ids: consecutive ones, and periodic ones too (a
    # systematic sample by id modulo would alias with those).
    for ids in (range(1, 200_001), range(7, 700_001, 7), range(1024, 1024 * 50_001, 1024)):
        ids = list(ids)
        for k in (1, 32, 512):
            share = sum(1 for i in ids if sql.bucket(i) < k) / len(ids)
            assert abs(share - k / sql.SAMPLE_BUCKETS) < 0.15 * k / sql.SAMPLE_BUCKETS + 0.0005, (k, share)


def test_the_database_computes_the_same_buckets(library):
    from search import sql

    ids = sorted(asset.pk for asset in library.values())
    rows = sql.fetch(f"SELECT id, {sql.bucket_sql('id')} FROM medialib_asset ORDER BY id", [])
    assert [(i, sql.bucket(i)) for i in ids] == [(row[0], row[1]) for row in rows]


def test_a_person_status_or_uploader_above_the_count_cap_is_sampled_not_walked_whole(library, settings):
    settings.SEARCH_EXACT_COUNT_MAX = 2  # bob uploaded 6: counted up to 3, "more than 2"
    page = selectors.search(text="uploader:bob", limit=0)
    assert page.count.kind == "estimate" and page.facets_kind == "sample"
    settings.SEARCH_EXACT_COUNT_MAX = 6
    page = selectors.search(text="uploader:bob", limit=0)
    assert (page.count.value, page.count.kind) == (6, "exact")


@pytest.fixture
def sample_sizes(monkeypatch):
    """The sample_buckets of every compiler the searches make, in order."""
    from search import sql

    made = []
    original = sql.Compiler.__init__

    def spy(self, **kwargs):
        original(self, **kwargs)
        made.append(self.sample_buckets)

    monkeypatch.setattr(sql.Compiler, "__init__", spy)
    return made


def test_a_walk_that_reads_every_tag_row_of_its_candidates_gets_a_smaller_sample(library, settings, sample_sizes):
    from search import sql

    made = sample_sizes
    settings.SEARCH_EXACT_COUNT_MAX = 8  # the library has more assets than that: both walks below are sampled
    selectors.search(text="-sofa", limit=0)  # checks one tag per candidate
    plain = made[-1]
    selectors.search(text="source:manual", limit=0)  # reads each candidate's tag rows
    assert 1 <= made[-1] < plain < sql.SAMPLE_BUCKETS
    assert made[-1] <= -(-plain // 8)


def test_a_person_s_count_and_facets_come_from_their_faces(library):
    page = selectors.search(text='person:"Barack Obama"', limit=0)  # nothing on the page: counted by the walk
    assert (page.count.value, page.count.kind) == (1, "exact")
    assert [(f.name, f.count) for f in page.facets] == [("Barack Obama", 1)]
    page = selectors.search(text="status:failed OR status:pending", limit=0)
    assert (page.count.value, page.count.kind) == (2, "exact") and page.facets == []


def test_dates_size_the_sample_by_the_photos_inside_them(library, settings, sample_sizes):
    from search import sql

    settings.SEARCH_EXACT_COUNT_MAX = 1
    # dog has 3 uses, more than 1: alone it is sampled; in one day it has 1, counted on its index: exact
    assert selectors.search(text="dog source:auto", limit=0).count.kind == "estimate"
    page = selectors.search(text="dog source:auto date:2024-03-01", limit=0)
    assert (page.count.value, page.count.kind) == (1, "exact")
    selectors.search(text="date:2024-03-01..2024-03-02", limit=0)  # 2 photos in those days, not the library's 11
    assert sample_sizes[-1] == sql.SAMPLE_BUCKETS // 2
