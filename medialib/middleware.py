"""Response headers the site's HTML pages carry in production: the Content-Security-Policy."""
from django.conf import settings


class ContentSecurityPolicyMiddleware:
    """Adds settings.CONTENT_SECURITY_POLICY to HTML answers when DEBUG is off.

    Only to HTML: the JSON API has nothing to run, and the files served have their own, stricter sandboxing
    policy (medialib.views), which is never replaced. Off with DEBUG, whose error pages rely on inline script.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if (policy and not settings.DEBUG and response.get("Content-Type", "").startswith("text/html")
                and "Content-Security-Policy" not in response):
            response["Content-Security-Policy"] = policy
        return response
