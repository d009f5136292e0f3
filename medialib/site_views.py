"""Pages of the site around the library: the admin's sign-in goes through ours."""
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme


def admin_login(request):
    """Nobody sees the stock "Django administration" login: anonymous users get the site's login page, signed-in
    users who are not staff the site's 403 page, staff go on to where they were going."""
    next_url = request.GET.get("next") or resolve_url("admin:index")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = resolve_url("admin:index")
    if not request.user.is_authenticated:
        return redirect(f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': next_url})}")
    if not (request.user.is_active and request.user.is_staff):
        raise PermissionDenied("The admin is for staff accounts only; yours is not one.")
    return redirect(next_url)
