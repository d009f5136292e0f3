"""A storage for tests that, like S3, has no local paths: code that calls .path() fails loudly."""
import os

from django.core.files.storage import InMemoryStorage


class NoPathStorage(InMemoryStorage):
    def path(self, name):
        raise NotImplementedError("This storage has no local paths; open files through storage.open().")

    def _relative_path(self, name):
        # The in-memory storage resolves names through path(); it keeps doing so internally.
        return os.path.relpath(InMemoryStorage.path(self, name), self.location)
