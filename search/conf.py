"""Search's settings, each with its default; set any of them in the Django settings to change it."""
from django.conf import settings

DEFAULTS = {
    # How many co-occurring tags the results page shows.
    "SEARCH_FACETS": 20,
    # Below this many possible matches (the rarest term's count), counts are exact and live; above, a sample of
    # about this many candidates is walked and the count estimated from it.
    "SEARCH_EXACT_COUNT_MAX": 3_000,
    # Facets are counted on every result up to this many, and on a sample of about this many above.
    "SEARCH_SAMPLE_SIZE": 1_000,
    # Tags used this often get precomputed facets and pair counts (TagCooccurrence), this many per tag.
    "SEARCH_COOCCURRENCE_MIN_USES": 2_000,
    "SEARCH_COOCCURRENCE_PER_TAG": 100,
    # A search that runs longer than this (PostgreSQL) is stopped and the person told so.
    "SEARCH_STATEMENT_TIMEOUT_MS": 5_000,
    "SEARCH_SUGGESTIONS": 8,
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])
