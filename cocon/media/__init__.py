"""Media intake: photos, videos and music shared safely (see docs/media.md).

Entry points: :func:`cocon.media.intake.intake`, :func:`cocon.media.intake.serving_headers`,
:mod:`cocon.media.storage`, :mod:`cocon.media.hashlist`, :mod:`cocon.media.pdq`.
"""

from cocon.media.hashlist import HashIndex, HashListImportError, HashListStore, Match
from cocon.media.intake import (
    IntakeResult,
    Refusal,
    StoredMedia,
    intake,
    serving_headers,
    store,
    usable_hashes,
)
from cocon.media.limits import Limits
from cocon.media.pdq import hamming, pdq_hash
from cocon.media.sniff import MediaRefused, sniff
from cocon.media.storage import LocalStorage, MediaNotFound, MediaStorage, S3Storage

__all__ = [
    "HashIndex",
    "HashListImportError",
    "HashListStore",
    "IntakeResult",
    "Limits",
    "LocalStorage",
    "Match",
    "MediaNotFound",
    "MediaRefused",
    "MediaStorage",
    "Refusal",
    "S3Storage",
    "StoredMedia",
    "hamming",
    "intake",
    "pdq_hash",
    "serving_headers",
    "sniff",
    "store",
    "usable_hashes",
]
