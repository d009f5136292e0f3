"""Detector backends: base.py holds the contract, one module per implementation, chosen per add-on by settings.

Like Django's STORAGES: settings.TAGGING_BACKENDS names each backend's class and options, and
settings.TAGGING_ADDON_BACKENDS says which backend answers which add-on. Each backend is built once per process.
"""
from __future__ import annotations

import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from .base import Backend

_backends: dict[str, Backend] = {}
_lock = threading.Lock()


def backend_named(alias: str) -> Backend:
    with _lock:
        if alias not in _backends:
            try:
                config = settings.TAGGING_BACKENDS[alias]
            except KeyError:
                raise ImproperlyConfigured(
                    f"TAGGING_BACKEND {alias!r} is not one of {', '.join(settings.TAGGING_BACKENDS)}."
                ) from None
            backend_class = import_string(config["BACKEND"])
            backend = backend_class(**config.get("OPTIONS", {}))
            backend.name = alias
            _backends[alias] = backend
        return _backends[alias]


def backend_alias_for(addon: str) -> str:
    return settings.TAGGING_ADDON_BACKENDS.get(addon) or settings.TAGGING_BACKEND


def backend_for(addon: str) -> Backend:
    return backend_named(backend_alias_for(addon))


def _reset(*, setting, **kwargs):
    if setting in ("TAGGING_BACKENDS", "TAGGING_BACKEND", "TAGGING_ADDON_BACKENDS"):
        with _lock:
            _backends.clear()


setting_changed.connect(_reset)
