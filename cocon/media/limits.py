"""Size, dimension and time limits applied to every uploaded file (all configurable)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from PIL import Image

#: Hard ceiling on decoded pixels for the whole process. Pillow warns above this and
#: raises ``DecompressionBombError`` above twice this; Cocon checks header dimensions
#: against ``Limits.max_image_pixels`` (which may not exceed this) before any decode.
HARD_MAX_PIXELS: Final = 64_000_000
Image.MAX_IMAGE_PIXELS = HARD_MAX_PIXELS

MB: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """What an upload may be. The defaults suit a chat: phone photos, short clips."""

    max_image_bytes: int = 10 * MB
    max_av_bytes: int = 50 * MB
    #: Decoded pixels of a still image (width x height), checked from the header.
    max_image_pixels: int = 40_000_000
    #: Longest side of an image as stored in the file header.
    max_image_side: int = 12_000
    #: Longest side of the re-encoded image (larger images are scaled down).
    max_output_side: int = 2560
    #: Animated GIFs: frames, and frames x width x height.
    max_gif_frames: int = 300
    max_gif_total_pixels: int = 30_000_000
    #: Side of the blurred preview, in pixels.
    preview_side: int = 256
    #: Audio and video.
    max_duration_s: float = 600.0
    max_video_side: int = 4096
    #: Seconds between two video frames hashed with PDQ, and at most this many frames.
    video_hash_interval_s: float = 5.0
    video_hash_max_frames: int = 24
    #: Wall-clock limit of the whole intake of one file, and of one ffmpeg/ffprobe run.
    timeout_s: float = 30.0
    tool_timeout_s: float = 20.0

    def __post_init__(self) -> None:
        if not 0 < self.max_image_pixels <= HARD_MAX_PIXELS:
            raise ValueError(f"max_image_pixels must be in 1..{HARD_MAX_PIXELS}")
        for name in ("max_image_bytes", "max_av_bytes", "max_image_side", "max_output_side",
                     "max_gif_frames", "max_gif_total_pixels", "preview_side",
                     "video_hash_max_frames"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("max_duration_s", "video_hash_interval_s", "timeout_s", "tool_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")

    def max_bytes_for(self, kind: str) -> int:
        return self.max_image_bytes if kind == "image" else self.max_av_bytes

    @property
    def max_upload_bytes(self) -> int:
        """The largest body an upload endpoint should read before sniffing."""
        return max(self.max_image_bytes, self.max_av_bytes)
