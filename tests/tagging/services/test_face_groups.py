"""tagging.services.face_groups: look-alike unnamed faces grouped per owner, incrementally as faces change and all
at once, the same either way; what the people page reads of them (permissions, a bounded number of queries)."""
import itertools

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings as hypothesis_settings
from hypothesis import strategies as st

from medialib.models import Asset
from tagging import selectors
from tagging.matching import NO_OWNER
from tagging.models import Face, FaceGroup, FaceGroupScope, Person
from tagging.services import face_groups
from tagging.services import people as people_services
from tests.tagging.helpers import besides_regrouping, face_photo

pytestmark = pytest.mark.django_db

_counter = itertools.count(1)
RNG = np.random.default_rng(17)
# Eight made-up people, far apart (unit vectors in 128-d are ~1.4 apart); their faces ~0.3 from them.
CENTRES = RNG.normal(size=(8, 128))
CENTRES /= np.linalg.norm(CENTRES, axis=1, keepdims=True)


def embedding_of(identity: int, noise: int) -> list[float]:
    jitter = np.random.default_rng(noise).normal(scale=0.02, size=128)
    return [round(float(x), 5) for x in CENTRES[identity] + jitter]


def asset_of(owner) -> Asset:
    n = next(_counter)
    return Asset.objects.create(public_id=f"fg/{n}", file="seed/placeholder.jpg", original_filename=f"p{n}.jpg",
                                format="jpg", width=400, height=300, bytes=1, sha256="0" * 64, version=1,
                                uploaded_by=owner)


def face_of(owner, identity: int | None, noise: int = 0) -> Face:
    """An unnamed face on a new photo of `owner` (identity None: no embedding, as Rekognition's faces)."""
    return Face.objects.create(asset=asset_of(owner), index=0, left=0.3, top=0.2, width=0.2, height=0.3,
                               confidence=99.0, embedding=None if identity is None else embedding_of(identity, noise))


def partition(owner_key: int) -> set[frozenset[int]]:
    """The stored groups of one owner, as sets of the face ids still unnamed in them."""
    groups: dict[int, set[int]] = {}
    for pk, group_id in Face.objects.filter(group__owner_key=owner_key, person__isnull=True).values_list(
            "pk", "group_id"):
        groups.setdefault(group_id, set()).add(pk)
    return {frozenset(ids) for ids in groups.values()}


def test_faces_partition_groups_look_alikes_and_leaves_a_lone_face_out():
    rows = [(1, embedding_of(0, 1)), (2, embedding_of(1, 2)), (3, embedding_of(0, 3)), (4, embedding_of(2, 4)),
            (5, embedding_of(1, 5)), (6, embedding_of(0, 6)), (7, [])]
    assert face_groups.faces_partition(rows) == [[6, 3, 1], [5, 2]]  # largest first, newest face first
    assert face_groups.faces_partition(rows[:1]) == [] and face_groups.faces_partition([]) == []


@hypothesis_settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 10_000)), min_size=0, max_size=40), st.randoms())
def test_faces_partition_is_the_same_in_any_order(faces, random):
    rows = [(pk, embedding_of(identity, noise)) for pk, (identity, noise) in enumerate(faces, start=1)]
    shuffled = list(rows)
    random.shuffle(shuffled)
    result = face_groups.faces_partition(rows)
    assert face_groups.faces_partition(shuffled) == result
    # Each group is one made-up person's faces (they are far apart), and each of them is in it.
    for ids in result:
        assert len({faces[pk - 1][0] for pk in ids}) == 1
        assert len(ids) == sum(1 for identity, _ in faces if identity == faces[ids[0] - 1][0])


# An owner (0 or 1, or 2 = photos nobody owns) and what happens: a face of identity i appears, the n-th unnamed face
# is named, or the n-th face is deleted (with its photo).
OPERATION = st.one_of(
    st.tuples(st.just("add"), st.integers(0, 2), st.one_of(st.none(), st.integers(0, 4)), st.integers(0, 9999)),
    st.tuples(st.just("name"), st.integers(0, 2), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("delete"), st.integers(0, 2), st.integers(0, 30), st.just(0)),
)


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(OPERATION, min_size=1, max_size=25), window=st.integers(2, 12))
def test_incremental_grouping_equals_a_full_regrouping(django_user_model, settings, operations, window):
    settings.TAGGING_FACE_GROUPS_WINDOW = window  # small, so that it rolls as faces are named
    Face.objects.all().delete(), FaceGroup.objects.all().delete(), FaceGroupScope.objects.all().delete()
    Asset.objects.all().delete()
    owners = [django_user_model.objects.get_or_create(username=f"fg-owner-{i}")[0] for i in range(2)] + [None]
    person = Person.objects.get_or_create(name="Someone")[0]
    for op, who, arg, noise in operations:
        owner = owners[who]
        faces = list(Face.objects.filter(asset__uploaded_by=owner).order_by("pk"))
        if op == "add":
            face_of(owner, arg, noise)
        elif op == "name" and faces:
            Face.objects.filter(pk=faces[arg % len(faces)].pk).update(person=person, person_source="user")
        elif op == "delete" and faces:
            faces[arg % len(faces)].asset.delete()
        else:
            continue
        # What the services do on each change, and the task queued after it: this owner only.
        face_groups.face_groups_touch(owner_ids=[owner.pk if owner else None])
        face_groups.face_groups_refresh(owner_key=owner.pk if owner else NO_OWNER)
    keys = [owners[0].pk, owners[1].pk, NO_OWNER]
    incremental = {key: partition(key) for key in keys}
    assert not FaceGroup.objects.exclude(pk__in=Face.objects.values("group_id")).exists()  # no empty group left
    assert all(group.size == group.faces.count() for group in FaceGroup.objects.all())

    Face.objects.update(group=None)
    FaceGroup.objects.all().delete()
    face_groups.face_groups_rebuild(owner_keys=keys)
    assert {key: partition(key) for key in keys} == incremental
    for key in keys:  # and both are the grouping of the owner's window, as the page used to make it
        expected = {frozenset(ids) for ids in face_groups.faces_partition(face_groups.owner_window(key))}
        assert incremental[key] == expected


def test_a_refresh_with_nothing_changed_writes_nothing(user):
    face_of(user, 0, 1), face_of(user, 0, 2)
    face_groups.face_groups_touch(owner_ids=[user.pk])
    assert face_groups.face_groups_refresh(owner_key=user.pk) is True
    group = FaceGroup.objects.get()
    assert face_groups.face_groups_refresh(owner_key=user.pk) is False  # not behind: nothing read
    assert face_groups.face_groups_refresh(owner_key=user.pk, force=True) is False  # the same groups: kept
    assert FaceGroup.objects.get().pk == group.pk
    face_of(user, 0, 3)
    face_groups.face_groups_touch(owner_ids=[user.pk])
    assert face_groups.face_groups_refresh(owner_key=user.pk) is True
    assert FaceGroup.objects.get().size == 3


def test_the_services_queue_a_regrouping_of_the_owner_after_commit(user, settings, django_capture_on_commit_callbacks):
    settings.TAGGING_BACKEND = "fake"
    with django_capture_on_commit_callbacks(execute=False) as stored:
        asset = face_photo(user)
    assert len(stored) > len(besides_regrouping(stored))  # the analysis stored a face: its owner is regrouped
    scope = FaceGroupScope.objects.get(owner_key=user.pk)
    assert scope.changes > scope.grouped
    before = scope.changes
    with django_capture_on_commit_callbacks(execute=False) as named:
        people_services.face_name(face=asset.faces.get(), user=user, name="Ada")
    assert len(named) - len(besides_regrouping(named)) == 1
    assert FaceGroupScope.objects.get(owner_key=user.pk).changes > before


def test_groups_never_mix_owners_and_the_page_shows_only_mine(client, user, other_user, staff_user):
    # The same made-up person on both users' photos: still one group each.
    mine = [face_of(user, 0, n) for n in range(3)]
    theirs = [face_of(other_user, 0, n) for n in range(10, 12)]
    face_of(other_user, 3, 99)  # a lone face of theirs
    face_groups.face_groups_rebuild()
    assert partition(user.pk) == {frozenset(f.pk for f in mine)}
    assert partition(other_user.pk) == {frozenset(f.pk for f in theirs)}
    groups, more = selectors.face_groups_page(user=user)
    assert [sorted(g["ids"]) for g in groups] == [sorted(f.pk for f in mine)] and not more
    assert selectors.faces_ungrouped(user=user) == ([], False)
    assert len(selectors.face_groups_page(user=staff_user)[0]) == 2  # staff may name everyone's: both groups

    client.force_login(user)
    html = client.get(reverse("tagging:people")).content.decode()
    for face in theirs:
        assert f'value="{face.pk}"' not in html
    for face in mine:
        assert f'value="{face.pk}"' in html
    # Naming their faces through a group form is refused, and names nothing.
    response = client.post(reverse("tagging:faces_name_group"), {"faces": [theirs[0].pk], "name": "X"})
    assert response.status_code in (403, 404)
    assert not Face.objects.filter(person__isnull=False).exists()


def test_a_big_group_shows_some_faces_and_names_all_of_them(client, user):
    faces = [face_of(user, 1, n) for n in range(15)]
    face_groups.face_groups_rebuild()
    client.force_login(user)
    html = client.get(reverse("tagging:people")).content.decode()
    assert "15 faces that look alike" in html and "and 3 more like them" in html
    assert html.count('type="checkbox" name="faces"') == 12 and html.count('type="hidden" name="faces"') == 3
    response = client.post(reverse("tagging:faces_name_group"), {"faces": [f.pk for f in faces], "name": "Grace"})
    assert response.status_code == 302
    assert Face.objects.filter(person__name="Grace").count() == 15


def test_the_people_page_costs_the_same_queries_with_ten_times_the_faces(client, user, other_user):
    client.force_login(user)

    def queries() -> int:
        face_groups.face_groups_rebuild()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("tagging:people"))
        assert response.status_code == 200
        return len(captured)

    def add(count):
        for n in range(count):
            face_of(user, n % 5, n)  # groups of look-alikes
            face_of(user, None)  # a face without an embedding: in the strip
            face_of(other_user, n % 3, n)
        for n in range(count // 2):
            named = face_of(user, 6, 1000 + n)
            Face.objects.filter(pk=named.pk).update(person=Person.objects.get_or_create(name=f"P{n % 4}")[0],
                                                    person_source="user")

    add(10)  # every part of the page has something: people, groups, lone faces
    few = queries()
    add(90)
    many = queries()
    assert many == few, (few, many)
    assert many <= 14


def test_the_sweep_regroups_the_owners_behind_first_and_forgets_deleted_users(user, other_user, settings,
                                                                               django_user_model):
    settings.TAGGING_FACE_GROUPS_BATCH = 1
    face_of(user, 0, 1), face_of(user, 0, 2)
    gone = django_user_model.objects.create_user(username="gone")
    face_of(gone, 2, 1), face_of(gone, 2, 2)
    face_groups.face_groups_rebuild()
    assert FaceGroup.objects.filter(owner_key=gone.pk).exists()
    face_of(other_user, 1, 1), face_of(other_user, 1, 2)
    face_groups.face_groups_touch(owner_ids=[other_user.pk])  # its task lost: the sweep finds it behind
    gone_pk = gone.pk
    gone.delete()  # their photos now belong to nobody
    assert face_groups.face_groups_sweep() == [other_user.pk]
    assert partition(other_user.pk) and not FaceGroup.objects.filter(owner_key=gone_pk).exists()
    assert not FaceGroupScope.objects.filter(owner_key=gone_pk).exists()
    settings.TAGGING_FACE_GROUPS_BATCH = 10
    face_groups.face_groups_sweep()
    assert len(partition(NO_OWNER)) == 1  # the photos nobody owns now, grouped as theirs


def test_the_face_groups_command_rebuilds_every_owner(user, capsys):
    face_of(user, 4, 1), face_of(user, 4, 2)
    call_command("face_groups")
    assert "the groups of 1 changed" in capsys.readouterr().out
    assert len(partition(user.pk)) == 1


def test_a_burst_of_changes_queues_one_delayed_regrouping(user, other_user, monkeypatch,
                                                          django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(face_groups, "task_enqueue", lambda task, *args, countdown=None: queued.append(
        (task.name, args, countdown)) or True)
    monkeypatch.setattr(face_groups, "_queued_at", {})
    with django_capture_on_commit_callbacks(execute=True):  # 51 commits' callbacks, in a row
        for _ in range(50):
            face_groups.face_groups_touch(owner_ids=[user.pk])
        face_groups.face_groups_touch(owner_ids=[other_user.pk, user.pk])
    assert queued == [("tagging.tasks.face_groups_refresh", (user.pk,), face_groups.REFRESH_DELAY_SECONDS),
                      ("tagging.tasks.face_groups_refresh", (other_user.pk,), face_groups.REFRESH_DELAY_SECONDS)]
    assert FaceGroupScope.objects.get(owner_key=user.pk).changes == 51  # every change counted all the same
