"""The people page's cache (tagging.people_cache): every kind of change shows on the next view, a viewer never gets
another viewer's page, a page from the cache costs no query of the library, and its forms carry the viewer's own
CSRF token."""
import itertools
import re

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from medialib import services as media_services
from medialib.models import Asset
from tagging import people_cache
from tagging.models import Face, FaceGroup, Person
from tagging.services import face_groups
from tagging.services import people as people_services
from tests.tagging.helpers import BLUE, face_photo

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fake_backend")]

_counter = itertools.count(1)
PEOPLE = reverse("tagging:people")


def photo_of(owner) -> Asset:
    n = next(_counter)
    return Asset.objects.create(public_id=f"pc/{n}", file="seed/placeholder.jpg", original_filename=f"p{n}.jpg",
                                format="jpg", width=400, height=300, bytes=1, sha256="0" * 64, version=1,
                                uploaded_by=owner)


def face_of(owner, embedding=None, *, person=None) -> Face:
    return Face.objects.create(asset=photo_of(owner), index=0, left=0.3, top=0.2, width=0.2, height=0.3,
                               confidence=99.0, embedding=embedding, person=person,
                               person_source="user" if person else "")


def look_alike(noise: int) -> list[float]:
    return [1.0 if i == 0 else 0.0 for i in range(128)][:127] + [noise / 1000]


def page(client) -> str:
    response = client.get(PEOPLE)
    assert response.status_code == 200
    return response.content.decode()


def cached(client) -> str:
    """The page, viewed twice: the second comes from the cache (asserted: no query of a face or a person)."""
    page(client)
    with CaptureQueriesContext(connection) as captured:
        html = page(client)
    assert not [q["sql"] for q in captured if "tagging_" in q["sql"]], "the second view was not from the cache"
    return html


@pytest.fixture
def alice(client, user):
    client.force_login(user)
    return client


def test_a_view_from_the_cache_reads_nothing_but_the_session_and_user(alice, user):
    for n in range(3):
        face_of(user, look_alike(n))
    face_of(user, person=Person.objects.create(name="Ada"))
    face_groups.face_groups_rebuild()
    first = page(alice)
    assert "Ada" in first and "faces that look alike" in first
    with CaptureQueriesContext(connection) as captured:
        second = page(alice)
    assert len(captured) <= 2, [q["sql"] for q in captured]  # the session and the user, nothing of the library
    strip = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    assert strip.sub("", second) == strip.sub("", first)


def test_naming_a_face_shows_on_the_next_view(alice, user):
    face = face_of(user)
    assert "1 face not like any other" in cached(alice)
    alice.post(reverse("tagging:face_name", args=[face.pk]), {"name": "Grace Hopper"})
    html = page(alice)
    assert "Grace Hopper" in html and "1 photo" in html and "No unnamed faces" in html
    people_services.face_clear(face=Face.objects.get(pk=face.pk), user=user)
    html = page(alice)
    assert "Grace Hopper" not in html.split("Who are these?")[0] and "1 face not like any other" in html


def test_naming_a_group_and_the_worker_s_regrouping_show_on_the_next_view(alice, user):
    faces = [face_of(user, look_alike(n)) for n in range(3)]
    assert "3 faces not like any other" in cached(alice)
    face_groups.face_groups_rebuild()  # the worker's regrouping
    html = page(alice)
    assert "3 faces that look alike" in html and "not like any other" not in html
    cached(alice)
    alice.post(reverse("tagging:faces_name_group"), {"faces": [f.pk for f in faces], "name": "Linus"})
    html = page(alice)
    assert "Linus" in html and "3 photos" in html and "look alike" not in html


def test_a_new_analysis_with_faces_shows_on_the_next_view(alice, user):
    assert "No unnamed faces" in cached(alice)
    face_photo(user)  # uploaded and analysed: the fake detector finds one face
    assert "1 face not like any other" in page(alice)


def test_deleting_a_photo_shows_on_the_next_view(alice, user):
    ada = Person.objects.create(name="Ada")
    kept, gone = face_of(user, person=ada), face_of(user, person=ada)
    assert "2 photos" in cached(alice)
    media_services.asset_delete(asset=gone.asset, user=user)
    html = page(alice)
    assert "1 photo<" in html and "2 photos" not in html
    cached(alice)
    media_services.asset_delete(asset=kept.asset, user=user)
    assert "Ada" not in page(alice)


def test_renaming_merging_hiding_and_approving_show_on_the_next_view(alice, user, other_user, moderator, settings):
    settings.MEDIALIB_VISIBILITY = "private"
    ada, countess = Person.objects.create(name="Ada"), Person.objects.create(name="Countess")
    face_of(user, person=ada)
    face_of(user, person=countess)
    assert "Ada" in cached(alice)
    people_services.person_rename(person=ada, name="Ada Byron", user=moderator)
    assert "Ada Byron" in cached(alice)
    people_services.people_merge(people=Person.objects.filter(pk=countess.pk), target=ada, user=moderator)
    html = cached(alice)
    assert "Countess" not in html and "2 photos" in html
    people_services.people_hide(people=Person.objects.filter(pk=ada.pk), user=moderator)
    assert "Ada Byron" not in page(alice)

    # Approval: in private mode another user knows of a person (the names offered) only once approved.
    bob = Client()
    bob.force_login(other_user)
    face_of(other_user)  # a face of his to name: the names are offered
    face_of(user, person=Person.objects.create(name="Zed"))
    assert 'value="Zed"' not in cached(bob)
    people_services.people_approve(people=Person.objects.filter(name="Zed"), user=moderator)
    assert 'value="Zed"' in page(bob)


@pytest.mark.parametrize("mode", ["shared", "private"])
def test_private_visibility_never_serves_another_user_s_people_or_faces(client, user, other_user, settings, mode):
    settings.MEDIALIB_VISIBILITY = mode
    mine = face_of(user, person=Person.objects.create(name="Alice's aunt"))
    theirs = face_of(other_user, person=Person.objects.create(name="Bob's uncle"))
    my_lone, their_lone = face_of(user), face_of(other_user)
    alice, bob = Client(), Client()
    alice.force_login(user)
    bob.force_login(other_user)
    for _ in range(2):  # uncached, then from the cache: each their own page
        a, b = page(alice), page(bob)
        assert f'value="{my_lone.pk}"' in a and f'value="{their_lone.pk}"' not in a
        assert f'value="{their_lone.pk}"' in b and f'value="{my_lone.pk}"' not in b
        assert ("Bob&#x27;s uncle" in a) is (mode == "shared") and ("Alice&#x27;s aunt" in b) is (mode == "shared")
    assert mine.pk and theirs.pk


def test_the_forms_carry_the_viewer_s_own_csrf_token(user, other_user):
    from django.middleware.csrf import _unmask_cipher_token

    face = face_of(user)
    face_of(other_user)
    secrets = []
    for n, who in enumerate((user, user, other_user)):
        client = Client(enforce_csrf_checks=True)
        client.force_login(who)
        page(client)
        html = cached(client)
        assert people_cache.CSRF_PLACEHOLDER not in html
        tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        assert tokens and (who != user or n or len(tokens) >= 2)  # the header's log-out form, the page's forms
        # Every form's token is this browser's secret (its cookie), masked: none is another viewer's.
        mine = {_unmask_cipher_token(token) for token in tokens}
        assert mine == {client.cookies["csrftoken"].value}
        secrets.append(mine.pop())
        if who == user:  # and the page's form posts with it
            form_token = tokens[-1]
            response = client.post(reverse("tagging:faces_name_group"),
                                   {"faces": [face.pk], "name": f"N{n}", "csrfmiddlewaretoken": form_token})
            assert response.status_code == 302
    assert len(set(secrets)) == 3  # each browser its own


def test_a_name_like_the_placeholder_stays_a_name(alice, user):
    face_of(user, person=Person.objects.create(name=people_cache.CSRF_PLACEHOLDER))
    face_of(user)
    html = cached(alice)
    assert f'<option value="{people_cache.CSRF_PLACEHOLDER}">' in html
    assert f'name="csrfmiddlewaretoken" value="{people_cache.CSRF_PLACEHOLDER}"' not in html


@pytest.mark.django_db(transaction=True)
def test_the_version_moves_on_after_commit_so_a_page_read_before_it_is_left_behind(user):
    # Another process may render the page between a write and its commit: the old page goes under the version it
    # read, and the bump after the commit leaves that version behind.
    face = face_of(user)
    with transaction.atomic():
        Face.objects.filter(pk=face.pk).update(left=0.1)
        before_commit = people_cache.version()
    assert people_cache.version() != before_commit


@pytest.mark.django_db(transaction=True)
def test_after_a_commit_the_next_view_of_another_client_is_fresh(user):
    client = Client()
    client.force_login(user)
    face = face_of(user)
    assert "1 face not like any other" in cached(client)
    with transaction.atomic():
        people_services.face_name(face=Face.objects.select_related("asset").get(pk=face.pk), user=user,
                                  name="Hedy")
    assert "Hedy" in page(client)
    with transaction.atomic():
        FaceGroup.objects.create(owner_key=user.pk, size=2)
        Face.objects.filter(pk=face.pk).update(person=None, person_source="")
    assert "1 face not like any other" in page(client)


def test_one_bump_a_transaction_however_many_rows(user):
    def registered() -> int:
        return sum(func is people_cache._bump_pending for _, func, *_ in connection.run_on_commit)

    faces = [face_of(user) for _ in range(5)]
    for face in faces:
        face.delete()
    Face.objects.filter(pk__in=[f.pk for f in faces]).update(left=0.2)
    Person.objects.create(name="Ada")
    FaceGroup.objects.filter(owner_key=user.pk).delete()
    assert registered() == 1


def test_a_renamed_photo_shows_its_new_crop_url(alice, user):
    face = face_of(user)
    assert face.asset.public_id in cached(alice)
    asset = face.asset
    asset.public_id = "renamed/photo"
    asset.save(update_fields=["public_id", "updated_at"])
    html = page(alice)
    assert "renamed/photo" in html or "renamed%2Fphoto" in html


def test_a_face_photo_of_another_colour_is_another_lone_face(alice, user):
    face_photo(user)
    assert "1 face not like any other" in cached(alice)
    face_photo(user, BLUE)
    assert "2 faces not like any other" in page(alice)


def test_a_page_rendered_before_a_change_is_not_served_after_it(user):
    # A view that read the version, then the data, and stores its page after another process's change committed:
    # the page is kept under the version it read, and the next view renders afresh.
    face_of(user)
    part = people_cache.FACES
    slow = people_cache.Page(user, people_page=1, groups_page=1)
    assert slow.get(part) is None
    people_cache._bump_now()  # the other process's commit
    slow.store(part, "<p>the page as it was</p>")
    assert people_cache.Page(user, people_page=1, groups_page=1).get(part) is None
    fresh = people_cache.Page(user, people_page=1, groups_page=1)
    fresh.store(part, "<p>now</p>")
    assert people_cache.Page(user, people_page=1, groups_page=1).get(part) == "<p>now</p>"


def test_unnamed_faces_stored_or_regrouped_render_only_the_faces_part_again(alice, user):
    ada = Person.objects.create(name="Ada")
    face_of(user, person=ada)
    faces = [face_of(user, look_alike(n)) for n in range(2)]
    cached(alice)
    face_groups.face_groups_rebuild()  # the worker: groups written, nobody named
    with CaptureQueriesContext(connection) as captured:
        html = page(alice)
    assert "2 faces that look alike" in html and "Ada" in html and 'value="Ada"' in html  # the names still offered
    assert not [q["sql"] for q in captured if "tagging_person" in q["sql"]]  # the people part from the cache
    assert [q["sql"] for q in captured if "tagging_facegroup" in q["sql"]]
    cached(alice)
    face_of(user)  # an analysis stores an unnamed face
    with CaptureQueriesContext(connection) as captured:
        assert "1 face not like any other" in page(alice)
    assert not [q["sql"] for q in captured if "tagging_person" in q["sql"]]
    # Naming them changes both parts: the person's count, the group.
    alice.post(reverse("tagging:faces_name_group"), {"faces": [f.pk for f in faces], "name": "Ada"})
    html = page(alice)
    assert "3 photos" in html and "look alike" not in html


def test_only_the_first_pages_are_kept(alice, user):
    face_of(user)
    far = f"{PEOPLE}?page={people_cache.CACHED_PAGES + 1}"
    for url in (f"{PEOPLE}?page={people_cache.CACHED_PAGES}", far):
        alice.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert alice.get(url).status_code == 200
        from_cache = not [q for q in captured if "tagging_" in q["sql"]]
        assert from_cache is (url != far), url


def test_two_libraries_sharing_one_cache_never_serve_each_other_s_pages(alice, user, settings):
    face_of(user, person=Person.objects.create(name="Ada"))
    assert "Ada" in cached(alice)
    # Another database (another site on the same Redis, a benchmark's library): the same user id, other pages.
    settings.DATABASES = {**settings.DATABASES, "default": {**settings.DATABASES["default"], "NAME": "another"}}
    other = people_cache.Page(user, people_page=1, groups_page=1)
    assert other.get(people_cache.PEOPLE) is None and other.get(people_cache.FACES) is None
