"""Pages about people and faces: the people list, one person's photos, naming faces, face thumbnails."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from medialib.images import face_crop, jpeg_bytes, stored_image_decode
from medialib.query_params import id_or_none, id_parse, ids_parse
from medialib.selectors import visible_q
from search.query import quote

from . import people_cache, selectors
from .models import Face
from .services import people as people_services
from .services import tags as tag_services
from .templatetags.people_page import people_options

FACE_THUMB_SIZE = 160
PEOPLE_PER_PAGE = 60
GROUPS_PER_PAGE = 12
LONE_FACES = 24


def _page_number(value: str | None) -> int:
    """?page=N, 1 for anything that is not a page number (a bookmark of a page that no longer exists is empty)."""
    return int(value) if value and value.isdigit() and 0 < len(value) < 7 and int(value) > 0 else 1


@login_required
def people(request):
    """Reads only: the groups of unnamed faces were made by the worker (tagging.services.face_groups). The two parts
    below the heading come from the cache while nothing they show has changed (tagging.people_cache)."""
    people_page, groups_page = _page_number(request.GET.get("people")), _page_number(request.GET.get("page"))
    user = request.user
    cached = people_cache.Page(user, people_page=people_page, groups_page=groups_page)
    people_part = cached.get(people_cache.PEOPLE)
    if people_part is None:
        people_part = _people_part(user, people_page=people_page)
        cached.store(people_cache.PEOPLE, people_part)
    faces_part = cached.get(people_cache.FACES)
    if faces_part is None:
        faces_part = _faces_part(user, groups_page=groups_page)
        cached.store(people_cache.FACES, faces_part)
    grid, datalist = people_part
    sections = grid + faces_part.replace(people_cache.DATALIST_SLOT, datalist)
    return render(request, "tagging/people.html", {
        "sections": mark_safe(people_cache.with_csrf(sections, get_token(request))),
        "awaiting_approval": _awaiting_approval(user),
    })


def _people_part(user, *, people_page: int) -> tuple[str, str]:
    """The people with their covers and counts, and the <datalist> of the names offered, for this user alone
    (what people_cache.Page keys)."""
    people = selectors.people_with_covers(user=user, page=people_page, per_page=PEOPLE_PER_PAGE)
    grid = render_to_string("tagging/people_part.html", {
        "people": people[:PEOPLE_PER_PAGE], "people_page": people_page, "more_people": len(people) > PEOPLE_PER_PAGE,
    })
    return grid, f'<datalist id="known-people">{people_options(selectors.people_known(user=user))}</datalist>'


def _faces_part(user, *, groups_page: int) -> str:
    """The groups of look-alike unnamed faces and the strip of lone ones this user may name, with a slot for the
    names offered."""
    groups, more_groups = selectors.face_groups_page(user=user, page=groups_page, per_page=GROUPS_PER_PAGE)
    lone, more_lone = selectors.faces_ungrouped(user=user, limit=LONE_FACES)
    return render_to_string("tagging/faces_part.html", {
        "user": user, "csrf_token": people_cache.CSRF_PLACEHOLDER,
        "known_people": mark_safe(people_cache.DATALIST_SLOT),
        "groups": groups, "groups_page": groups_page, "more_groups": more_groups,
        "lone_faces": lone, "more_lone_faces": more_lone,
    })


def _awaiting_approval(user) -> int | None:
    """For moderators who can reach the admin, how many people wait for them; None for everyone else."""
    if not (user.is_staff and tag_services.user_can_moderate(user)):
        return None
    return selectors.people_awaiting_approval_count()


@login_required
def person_detail(request, pk):
    person = get_object_or_404(selectors.people_visible(user=request.user), pk=pk)
    before = request.GET.get("before", "")
    assets, next_before = selectors.person_assets(
        person, before=id_or_none(before), limit=settings.MEDIALIB_GALLERY_PAGE_SIZE, user=request.user)
    return render(request, "tagging/person.html", {
        "person": person, "assets": assets, "next_before": next_before, "first_page": not before,
        "search_query": "person:" + quote(person.name),
    })


def _visible_faces(request):
    """Faces on photos this user may see: another's are not found (MEDIALIB_VISIBILITY=private)."""
    return Face.objects.filter(visible_q(request.user, through="asset__"))


def _back(request, fallback):
    target = request.POST.get("next", "")
    from django.utils.http import url_has_allowed_host_and_scheme

    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        # Not redirect(): it reads a target without "/" or "." as a URL name ("next=²" was a NoReverseMatch, 500).
        return HttpResponseRedirect(target)
    return redirect(fallback)


@login_required
@require_POST
def face_name(request, pk):
    face = get_object_or_404(_visible_faces(request).select_related("asset", "person"), pk=pk)
    person_id = id_parse(request.POST.get("person"), name="person")
    try:
        person = get_object_or_404(selectors.people_visible(user=request.user), pk=person_id) if person_id else None
        people_services.face_name(face=face, user=request.user, name=request.POST.get("name", ""), person=person)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Named {face.person.name}. Other photos of them are being checked.")
    return _back(request, "tagging:people")


@login_required
@require_POST
def face_clear(request, pk):
    face = get_object_or_404(_visible_faces(request).select_related("asset", "person"), pk=pk)
    previous = face.person.name if face.person else None
    people_services.face_clear(face=face, user=request.user)
    if previous:
        messages.success(request, f"This face is no longer {previous}, and will not be matched to them again.")
    return _back(request, "tagging:people")


@login_required
@require_POST
def faces_name_group(request):
    ids = ids_parse(request.POST.getlist("faces"), name="faces")
    # As face_name: a face on a photo this user may not see (MEDIALIB_VISIBILITY=private), or none at all, is not
    # found, and nothing is named; one she may see but not change is still the service's 403.
    if set(ids) - set(_visible_faces(request).filter(pk__in=ids).values_list("pk", flat=True)):
        raise Http404("No such face.")
    try:
        count = people_services.faces_name_group(face_ids=ids, user=request.user, name=request.POST.get("name", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Named {count} face{'' if count == 1 else 's'} {request.POST.get('name', '').strip()}.")
    return redirect("tagging:people")


@login_required
def face_thumbnail(request, pk):
    """A square crop around one face, from the preview rendition when there is one (cheaper than the original)."""
    face = get_object_or_404(_visible_faces(request).select_related("asset"), pk=pk)
    asset = face.asset
    preview = asset.renditions.filter(spec="preview", version=asset.version).first()
    name = preview.file.name if preview else asset.file.name
    try:
        image = stored_image_decode(name, min_size=(1600, 1600)).image
    except FileNotFoundError:
        raise Http404("The photo is missing from storage.") from None
    crop = face_crop(image, left=face.left, top=face.top, width=face.width, height=face.height, size=FACE_THUMB_SIZE)
    response = HttpResponse(jpeg_bytes(crop, quality=85), content_type="image/jpeg")
    # A face's id changes when its photo is analysed again, so its crop never changes.
    response["Cache-Control"] = "private, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    return response
