"""Sign-in through django-axes, which refuses a username and IP pair after too many failed passwords."""
from axes.backends import AxesStandaloneBackend


class LoginLockoutBackend(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        # authenticate() without a request comes from inside the server (a management command, a test's
        # client.login), never from a login over HTTP: there is no client to count failures for.
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
