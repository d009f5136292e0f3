"""The search page and its autocomplete: parse the request, call a selector, render."""
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

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
    status = 400 if context["page"] is not None and context["page"].error else 200
    return render(request, "search/search.html", context, status=status)


@login_required
@require_GET
def suggest(request):
    found = selectors.suggestions(text=request.GET.get("q", ""), kind=request.GET.get("kind", ""),
                                   user=request.user)
    return JsonResponse({"suggestions": found})
