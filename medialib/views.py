"""Pages of the asset library: gallery, upload, asset detail, analysis status, and the files themselves."""
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, TooManyFilesSent, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.formats import date_format
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tagging import selectors as tagging_selectors
from tagging.addons import FACES_ADDON, LABELS_ADDON
from tagging.forms import AnalysisRerunForm
from tagging.services.analysis import analysis_on_upload, analysis_rerun
from tagging.services.tags import tag_can_reject, tag_remove_or_reject

from . import selectors, services
from .forms import TagAddForm, TagRemoveForm, UploadForm
from .images import ACCEPTED_DESCRIPTION
from .models import Asset, Rendition
from .notifications import deleted_notify, notifications_wanted, tags_changed_notify, tags_watch, uploaded_notify
from .page_images import page_alt, page_image
from .query_params import id_or_none

# Files are addressed by version, so a URL always means the same bytes: cache them for a year.
IMMUTABLE = "private, max-age=31536000, immutable"
# The gallery asks for the status of at most this many assets at once.
STATUS_MAX_IDS = 200


def _cursor(request, name):
    return id_or_none(request.GET.get(name))  # not an id: the first page, as search's cursors


@login_required
def gallery(request):
    from search.forms import GalleryFilterForm
    from search.selectors import query_page

    # Filters compile to the search's query model and run through it; without any, the plain keyset by id.
    filters = GalleryFilterForm(request.GET)
    node = filters.node() if filters.is_valid() else None
    filtered = node is not None
    folder = (request.GET.get("folder") or "").strip().strip("/")
    if folder:
        # The API's asset_folder (Cloudinary's dynamic folders), by the same keyset as the plain gallery.
        page = selectors.gallery_page(
            before=_cursor(request, "before"), after=_cursor(request, "after"), limit=settings.MEDIALIB_GALLERY_PAGE_SIZE,
            prefetch=[tagging_selectors.analyses_prefetch(for_tiles=True)], user=request.user, folder=folder,
        )
    elif filtered:
        after = request.GET.get("after")
        page = query_page(node=node, cursor=after or request.GET.get("before"), newer=bool(after),
                          limit=settings.MEDIALIB_GALLERY_PAGE_SIZE, facets=False, user=request.user)
    else:
        page = selectors.gallery_page(
            before=_cursor(request, "before"), after=_cursor(request, "after"), limit=settings.MEDIALIB_GALLERY_PAGE_SIZE,
            prefetch=[tagging_selectors.analyses_prefetch(for_tiles=True)], user=request.user,
        )
    params = request.GET.copy()
    for name in ("before", "after", "view"):
        params.pop(name, None)
    if filtered and not folder:
        older, newer = ("before", page.next_cursor), ("after", page.prev_cursor)
    else:
        older, newer = ("before", page.next_before), ("after", page.prev_after)
    context = {
        "page": page, "filters": filters, "filtered": filtered, "filter_query": params.urlencode(),
        "folder": folder, **photo_grid_context(page.assets, params=params, older=older, newer=newer),
    }
    if wants_fragment(request):
        return photo_grid_fragment(request, context)
    view = request.GET.get("view")
    context["viewing"] = selectors.asset_get(public_id=view, user=request.user) if view else None
    context["folders"] = selectors.asset_folders(user=request.user)
    response = render(request, "medialib/gallery.html", context)
    patch_vary_headers(response, ["X-Fragment"])
    return response


def wants_fragment(request) -> bool:
    """The photo grid's script asks for the next page as a fragment (static/js/photo-grid.js)."""
    return request.headers.get("X-Fragment") == "1"


def photo_grid_context(assets, *, params, older: tuple[str, object], newer: tuple[str, object]) -> dict:
    """What templates/medialib/_photo_grid.html shows: the tiles by day and the links to the older and newer
    pages (`older`, `newer`: the cursor's parameter and value, None at the end), keeping the other `params`."""
    def link(name, cursor):
        if cursor is None:
            return None
        query = params.copy()
        query[name] = cursor
        return f"?{query.urlencode()}"

    return {"days": selectors.tiles_by_day(assets), "older_url": link(*older), "newer_url": link(*newer)}


def photo_grid_fragment(request, context):
    response = render(request, "medialib/_photo_grid.html", context)
    patch_vary_headers(response, ["X-Fragment"])
    return response


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@login_required
@require_http_methods(["GET", "POST"])
def upload(request):
    """Take any number of files; each succeeds or fails on its own, with its own message. A file already in the
    library the person sees (same SHA-256, also earlier in the same batch) is reported with a link and not stored
    again, unless they ask to keep both."""
    form = UploadForm(request.POST if request.method == "POST" else None)
    results = []
    if request.method == "POST" and form.is_valid():
        files = request.FILES.getlist("files")
        if not files:
            form.add_error(None, NO_FILE_MESSAGE)
        elif len(files) > settings.MEDIALIB_MAX_FILES_PER_REQUEST:
            form.add_error(None, too_many_files_message())
        else:
            for uploaded in files:
                results.append(_upload_one(request, uploaded, form.cleaned_data))
    if request.method == "POST":
        if _wants_json(request):
            if form.errors:
                messages_ = [m for errors in form.errors.values() for m in errors]
                return JsonResponse({"error": {"message": " ".join(messages_)}}, status=400)
            status = 200 if any(r["ok"] or r.get("duplicate") for r in results) else 400
            return JsonResponse({"results": results}, status=status)
    return render(
        request,
        "medialib/upload.html",
        {"form": form, "results": results, "summary": upload_summary(results), "accepted": ACCEPTED_DESCRIPTION,
         "max_size": services.size_format(settings.MEDIALIB_MAX_UPLOAD_BYTES),
         "max_bytes": settings.MEDIALIB_MAX_UPLOAD_BYTES, "no_file_message": NO_FILE_MESSAGE},
        status=400 if form.errors else 200,
    )


NO_FILE_MESSAGE = "Choose at least one file to upload."


def upload_summary(results: list[dict]) -> list[str]:
    """"10 of 10 uploaded", "1 already in your library", "1 failed": what the page says above the list."""
    if not results:
        return []
    uploaded = sum(1 for r in results if r["ok"])
    duplicates = sum(1 for r in results if r.get("duplicate"))
    failed = len(results) - uploaded - duplicates
    lines = [f"{uploaded} of {len(results)} uploaded"]
    if duplicates:
        lines.append(f"{duplicates} already in your library")
    if failed:
        lines.append(f"{failed} failed")
    return lines


def _upload_one(request, uploaded, options: dict) -> dict:
    analysis = analysis_on_upload(addons=options["addons"], auto_tagging=options["auto_tagging"])

    def on_create(asset):
        if analysis is not None:
            analysis(asset)
        uploaded_notify(asset=asset, host=request.get_host())  # the library-wide notification URL hears of it

    try:
        asset = services.asset_upload(
            file=uploaded, uploaded_by=request.user, tags=options["tags"], on_create=on_create,
            refuse_duplicate=not options["keep_both"],
        )
    except services.DuplicateUpload as exc:
        return {"filename": uploaded.name, "ok": False, "duplicate": True, "error": " ".join(exc.messages),
                "public_id": exc.asset.public_id, "url": asset_detail_url(exc.asset),
                "thumbnail": page_image(exc.asset, "tile").src}
    except ValidationError as exc:
        return {"filename": uploaded.name, "ok": False, "error": " ".join(exc.messages)}
    return {"filename": uploaded.name, "ok": True, "id": asset.pk, "public_id": asset.public_id,
            "url": asset_detail_url(asset), "thumbnail": page_image(asset, "tile").src}


def asset_detail_url(asset: Asset) -> str:
    return reverse("medialib:asset_detail", args=[asset.public_id])


@login_required
def asset_detail(request, public_id):
    asset = selectors.asset_get(public_id=public_id, prefetch=[tagging_selectors.analyses_prefetch()],
                                user=request.user)
    if asset is None:
        raise Http404("No image with that public_id.")
    tags = tagging_selectors.tag_items(asset)
    return render(
        request,
        "medialib/asset_detail.html",
        {
            "asset": asset,
            "alt": _photo_alt(asset, tags),
            "can_edit": selectors.asset_can_edit(user=request.user, asset=asset),
            "can_reject": tag_can_reject(user=request.user, asset=asset),
            "tag_form": TagAddForm(),
            "analyses": tagging_selectors.addon_statuses(asset),
            "tags": tags,
            "rerun_form": AnalysisRerunForm(initial=tagging_selectors.analysis_defaults(asset)),
            **_face_context(asset, request.user),
        },
    )


def _photo_alt(asset, tags):
    return page_alt(asset, [item["name"] for item in tags])


def _face_context(asset, user):
    return {
        "faces": tagging_selectors.asset_faces(asset),
        "faces_analysed": any(status.addon == FACES_ADDON and status.status == "complete"
                              for status in tagging_selectors.addon_statuses(asset)),
        "known_people": tagging_selectors.people_known(user=user).only("name"),
    }


def _json_login_required(view):
    """A script polls these: answer 401 in JSON rather than redirect it to the login page."""
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse({"error": {"message": "Log in to see this."}}, status=401)
        return view(request, *args, **kwargs)
    return wrapped


@_json_login_required
@require_GET
@never_cache
def asset_analysis(request, pk):
    """One asset's add-on statuses, labels, tags and renditions, for its page to follow the worker."""
    asset = selectors.asset_by_pk(pk=pk, prefetch=[tagging_selectors.analyses_prefetch()], user=request.user)
    if asset is None:
        return JsonResponse({"error": {"message": "No image with that id."}}, status=404)
    return JsonResponse(tagging_selectors.asset_status(asset, with_labels=True))


@_json_login_required
@require_GET
@never_cache
def assets_analysis(request):
    """The same for several assets (`?ids=3,2,1`), for the gallery; ids that do not exist are left out."""
    ids = [pk for pk in map(id_or_none, request.GET.get("ids", "").split(",")) if pk is not None][:STATUS_MAX_IDS]
    assets = selectors.assets_by_ids(ids=ids, prefetch=[tagging_selectors.analyses_prefetch()], user=request.user)
    return JsonResponse({"assets": [tagging_selectors.asset_status(asset) for asset in assets]})


@_json_login_required
@require_GET
@never_cache
def asset_viewer(request):
    """What the viewer (static/js/viewer.js) shows of one photo (`?public_id=`): its picture, faces, labels and
    tags, and its neighbours in the gallery; 404 when the user may not see it, as its detail page."""
    asset = selectors.asset_get(public_id=request.GET.get("public_id", ""),
                                prefetch=[tagging_selectors.analyses_prefetch()], user=request.user)
    if asset is None:
        return JsonResponse({"error": {"message": "No image with that public_id."}}, status=404)
    return JsonResponse(_viewer_data(asset, request.user))


def _viewer_data(asset, user) -> dict:
    from search.query import quote

    def search_url(query):
        return f"{reverse('search:search')}?{urlencode({'q': query})}"

    status = tagging_selectors.asset_status(asset, with_labels=True)
    image = page_image(asset, "preview")
    newer, older = selectors.asset_neighbours(asset=asset, user=user)
    labels = status["analyses"].get(LABELS_ADDON, {}).get("labels", [])
    return {
        "id": asset.pk,
        "public_id": asset.public_id,
        "title": date_format(timezone.localtime(asset.created_at), "l j F Y"),
        "alt": _photo_alt(asset, status["tags"]),
        "detail_url": asset_detail_url(asset),
        "image": {"src": image.src, "srcset": image.srcset, "width": image.width, "height": image.height},
        "faces": [{"left": face.left, "top": face.top, "width": face.width, "height": face.height,
                   "name": face.person.name if face.person else None,
                   "url": search_url(f"person:{quote(face.person.name)}") if face.person else None}
                  for face in tagging_selectors.asset_faces(asset)],
        "labels": [{"tag": label["tag"], "confidence": label.get("confidence")} for label in labels],
        "tags": [{"name": tag["name"], "auto": tag["auto"], "source": tag["source"], "url": search_url(quote(tag["name"]))}
                 for tag in status["tags"]],
        "analyses": {addon: {"title": entry["title"], "status": entry["status"], "summary": entry["summary"]}
                     for addon, entry in status["analyses"].items()},
        "newer": newer,
        "older": older,
    }


@login_required
@require_POST
def asset_analysis_rerun(request, pk):
    asset = get_object_or_404(selectors.assets_visible_to(request.user), pk=pk)
    form = AnalysisRerunForm(request.POST)
    if form.is_valid():
        try:
            analysis_rerun(asset=asset, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Analysis queued: the results appear here when the worker is done.")
    else:
        messages.error(request, " ".join(m for errors in form.errors.values() for m in errors))
    return redirect("medialib:asset_detail", asset.public_id)


@login_required
@require_POST
def asset_tags_add(request, pk):
    asset = get_object_or_404(selectors.assets_visible_to(request.user), pk=pk)
    form = TagAddForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():  # the library-wide URL hears what changed, with the change
                before = tags_watch(public_ids=[asset.public_id]) if notifications_wanted() else None
                added = services.asset_tags_add(asset=asset, names=form.cleaned_data["name"], user=request.user)
                if before:
                    tags_changed_notify(before=before, source="ui")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if added:
                messages.success(request, f"Added {', '.join(added)}.")
            else:
                messages.info(request, "It already has those tags.")
    else:
        messages.error(request, "Type a tag to add.")
    return redirect("medialib:asset_detail", asset.public_id)


@login_required
@require_POST
def asset_tag_remove(request, pk):
    asset = get_object_or_404(selectors.assets_visible_to(request.user), pk=pk)
    form = TagRemoveForm(request.POST)
    if not form.is_valid():
        return redirect("medialib:asset_detail", asset.public_id)
    name = form.cleaned_data["name"]
    with transaction.atomic():
        before = tags_watch(public_ids=[asset.public_id]) if notifications_wanted() else None
        outcome = tag_remove_or_reject(asset=asset, name=name, user=request.user)
        if before:
            tags_changed_notify(before=before, source="ui")
    if outcome == "rejected":
        messages.success(request, f"Removed {name}. An add-on had found it, so re-analysis will not add it back.")
    elif outcome == "removed":
        messages.success(request, f"Removed {name}.")
    return redirect("medialib:asset_detail", asset.public_id)


@login_required
@require_POST
def asset_delete(request, pk):
    asset = get_object_or_404(selectors.assets_visible_to(request.user), pk=pk)
    with transaction.atomic():
        services.asset_delete(asset=asset, user=request.user)
        deleted_notify(assets=[asset])
    messages.success(request, f"Deleted {asset.public_id}.")
    return redirect("medialib:gallery")


def _file_response(name: str, content_type: str, filename: str | None = None) -> FileResponse:
    try:
        handle = default_storage.open(name, "rb")
    except FileNotFoundError:
        raise Http404("The file is missing from storage.") from None
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = IMMUTABLE
    # Never let a browser treat an upload as anything but the image it was validated as
    # (an HTML/JPEG polyglot stays a JPEG), and never let it run scripts in one.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    if filename:
        response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@login_required
def asset_original(request, pk, version):
    asset = get_object_or_404(selectors.assets_visible_to(request.user), pk=pk, version=version)
    safe_name = "".join(c for c in asset.original_filename if c.isalnum() or c in "._- ") or f"image.{asset.format}"
    return _file_response(asset.file.name, asset.mime_type, safe_name)


@login_required
def asset_rendition(request, pk, spec, version):
    rendition = get_object_or_404(Rendition.objects.filter(selectors.visible_q(request.user, through="asset__")),
                                  asset_id=pk, spec=spec, version=version)
    return _file_response(rendition.file.name, "image/jpeg")


def bad_request(request, exception=None):
    """400 with what was wrong, in the page's words (Django's own page says only "Bad Request")."""
    if isinstance(exception, BadRequest):
        message = str(exception)
    elif isinstance(exception, TooManyFilesSent):
        # Django counts the files before the upload view can (CSRF reads the form first).
        message = too_many_files_message()
    else:
        return defaults.bad_request(request, exception)
    if _wants_json(request):
        return JsonResponse({"error": {"message": message}}, status=400)
    return render(request, "400.html", {"message": message}, status=400)


def too_many_files_message() -> str:
    return f"Send at most {settings.MEDIALIB_MAX_FILES_PER_REQUEST} files at once."


def permission_denied(request, exception=None):
    message = str(exception) if exception else "You may not do that."
    if _wants_json(request):
        return JsonResponse({"error": {"message": message}}, status=403)
    return render(request, "403.html", {"message": message}, status=403)

