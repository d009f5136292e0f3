"""The search page and its autocomplete: parse the request, call a selector, render."""
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from medialib.views import photo_grid_context, photo_grid_fragment, wants_fragment

from . import selectors


@login_required
@require_GET
def search(request):
    text = request.GET.get("q", "")
    after = request.GET.get("after")
    context = {"q": text, "page": None, "popular": []}
    if text.strip():
        context["page"] = selectors.search(text=text, cursor=after or request.GET.get("before"),
                                           newer=bool(after), limit=settings.MEDIALIB_GALLERY_PAGE_SIZE,
                                           user=request.user)
    else:
        context["popular"] = selectors.popular_tags(user=request.user)
    page = context["page"]
    if page is not None and not page.error:
        params = request.GET.copy()
        for name in ("before", "after", "view"):
            params.pop(name, None)
        context.update(photo_grid_context(page.assets, params=params, older=("before", page.next_cursor),
                                          newer=("after", page.prev_cursor)))
        if wants_fragment(request):
            return photo_grid_fragment(request, context)
    status = 400 if page is not None and page.error else 200
    response = render(request, "search/search.html", context, status=status)
    patch_vary_headers(response, ["X-Fragment"])
    return response


@login_required
@require_GET
def suggest(request):
    found = selectors.suggestions(text=request.GET.get("q", ""), kind=request.GET.get("kind", ""),
                                   user=request.user)
    return JsonResponse({"suggestions": found})
