"""Audio and video: probe with ffprobe, strip metadata with an ffmpeg stream copy, hash frames.

Safety measures (see docs/media.md):

- The demuxer is forced to the sniffed format (``-f mov|matroska|mp3|ogg``) and only the
  ``file`` protocol is allowed, so a playlist or a reference to another file or URL (HLS,
  concat, MOV data references) is never followed.
- ffprobe must agree with the sniffed type; only the expected codecs pass. One video stream
  (cover art excluded) and one audio stream are kept; subtitles, data streams, chapters,
  attachments and every tag (title, GPS location, device, dates, encoder) are dropped:
  ``-map_metadata -1 -map_chapters -1 -fflags +bitexact``. H.264 SEI units (encoder
  settings, sometimes device data) are filtered out too.
- Every ffmpeg/ffprobe run has a timeout; the output is probed again and size-checked.
- Videos are hashed with PDQ, one frame every ``Limits.video_hash_interval_s`` seconds (at
  most ``video_hash_max_frames``), from frames decoded by ffmpeg: that decode is also the
  proof that the stream is real. Audio is decoded for its first seconds for the same proof.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cocon.media import pdq
from cocon.media.limits import Limits
from cocon.media.sniff import Kind, MediaRefused, Sniffed, corrupt, unsupported

_DEMUXERS: Final = {"mp4": "mov", "m4a": "mov", "webm": "matroska", "mp3": "mp3", "ogg": "ogg"}
_FORMAT_NAMES: Final = {"mov": "mp4", "matroska": "webm", "mp3": "mp3", "ogg": "ogg"}
_VIDEO_CODECS: Final = {"mov": {"h264", "hevc", "av1", "mpeg4"}, "matroska": {"vp8", "vp9", "av1"}}
_AUDIO_CODECS: Final = {
    "mov": {"aac", "mp3", "opus", "alac", "flac"},
    "matroska": {"opus", "vorbis"},
    "mp3": {"mp3"},
    "ogg": {"vorbis", "opus", "flac"},
}
_HASH_SIDE: Final = 512  # PDQ resamples to 64 x 64 anyway; this bounds the pipe size
_PNG_END: Final = b"IEND\xaeB`\x82"


@dataclass(frozen=True, slots=True)
class CleanAV:
    data: bytes
    kind: Kind
    mime: str
    width: int | None
    height: int | None
    duration: float
    pdq: tuple[tuple[str, int], ...]  # sampled video frames; empty for audio


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def _run(args: list[str], limits: Limits) -> bytes:
    if not ffmpeg_available():
        raise MediaRefused("media_av_unavailable",
                           "Les vidéos et les sons ne sont pas acceptés sur ce serveur.")
    try:
        done = subprocess.run(args, capture_output=True, timeout=limits.tool_timeout_s,
                              check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise MediaRefused("media_timeout",
                           "Ce fichier a pris trop de temps à vérifier.") from exc
    if done.returncode != 0:
        raise corrupt()
    return done.stdout


def probe(path: Path, demuxer: str, limits: Limits) -> dict[str, Any]:
    """ffprobe's JSON (format and streams) for ``path`` read with a forced demuxer."""
    out = _run(["ffprobe", "-v", "error", "-protocol_whitelist", "file", "-f", demuxer,
                "-show_format", "-show_streams", "-of", "json", str(path)], limits)
    try:
        info: dict[str, Any] = json.loads(out)
    except ValueError as exc:
        raise corrupt() from exc
    return info


def _duration(info: dict[str, Any]) -> float | None:
    values = [info.get("format", {}).get("duration")]
    values += [s.get("duration") for s in info.get("streams", [])]
    for value in values:
        try:
            return float(value)
        except (TypeError, ValueError):
            continue
    return None


@dataclass(frozen=True, slots=True)
class _Plan:
    demuxer: str
    video: dict[str, Any] | None
    audio: dict[str, Any] | None


def _plan(info: dict[str, Any], demuxer: str, sniffed: Sniffed, limits: Limits) -> _Plan:
    names = str(info.get("format", {}).get("format_name", "")).split(",")
    if _FORMAT_NAMES[demuxer] not in names:
        raise unsupported("le contenu ne correspond pas à son format")
    streams: list[dict[str, Any]] = info.get("streams", [])
    videos = [s for s in streams if s.get("codec_type") == "video"
              and not s.get("disposition", {}).get("attached_pic")]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    video = videos[0] if videos else None
    audio = audios[0] if audios else None
    if video is None and audio is None:
        raise corrupt()
    if video is not None:
        if sniffed.format in ("mp3", "ogg"):
            raise unsupported("vidéo dans un fichier audio")
        if video.get("codec_name") not in _VIDEO_CODECS.get(demuxer, set()):
            raise unsupported(f"codec vidéo {video.get('codec_name')!r}")
        w, h = int(video.get("width") or 0), int(video.get("height") or 0)
        if not (0 < w <= limits.max_video_side and 0 < h <= limits.max_video_side):
            raise MediaRefused("media_video_too_large",
                               f"Cette vidéo est trop grande ({w} × {h} pixels).")
    if audio is not None and audio.get("codec_name") not in _AUDIO_CODECS[demuxer]:
        raise unsupported(f"codec audio {audio.get('codec_name')!r}")
    _check_duration(info, limits, required=False)
    return _Plan(demuxer, video, audio)


def _check_duration(info: dict[str, Any], limits: Limits, *, required: bool) -> float:
    duration = _duration(info)
    if duration is None:
        if required:
            raise corrupt()
        return 0.0
    if duration > limits.max_duration_s:
        minutes = int(limits.max_duration_s // 60)
        raise MediaRefused("media_too_long",
                           f"Ce fichier est trop long ({int(duration)} s ; {minutes} min au plus).")
    return duration


def _remux_args(src: Path, dst: Path, plan: _Plan, limits: Limits) -> tuple[list[str], str]:
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-protocol_whitelist", "file",
            "-f", plan.demuxer, "-i", str(src)]
    for stream in (plan.video, plan.audio):
        if stream is not None:
            args += ["-map", f"0:{int(stream['index'])}"]
    args += ["-c", "copy", "-map_metadata", "-1", "-map_chapters", "-1", "-dn", "-sn",
             "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
             "-t", f"{limits.max_duration_s:.3f}", "-fs", str(limits.max_av_bytes)]
    if plan.video is not None and plan.video.get("codec_name") == "h264":
        args += ["-bsf:v", "filter_units=remove_types=6"]
    kind = "video" if plan.video is not None else "audio"
    if plan.demuxer == "mov":
        args += ["-movflags", "+faststart", "-f", "mp4"]
        mime = f"{kind}/mp4"
    elif plan.demuxer == "matroska":
        args += ["-f", "webm"]
        mime = f"{kind}/webm"
    elif plan.demuxer == "mp3":
        args += ["-id3v2_version", "0", "-write_id3v1", "0", "-f", "mp3"]
        mime = "audio/mpeg"
    else:
        args += ["-f", "ogg"]
        mime = "audio/ogg"
    return [*args, "-y", str(dst)], mime


def _hash_frames(path: Path, duration: float, limits: Limits) -> tuple[tuple[str, int], ...]:
    count = limits.video_hash_max_frames
    interval = max(limits.video_hash_interval_s, duration / count if duration else 0.0)
    # Keyframes only (fast), at least `interval` seconds apart, scaled down keeping the
    # aspect ratio and never up (PDQ is not invariant to squashing), as PNG images.
    side = _HASH_SIDE
    raw = _run(["ffmpeg", "-nostdin", "-v", "error", "-protocol_whitelist", "file",
                "-skip_frame", "nokey", "-i", str(path), "-map", "0:v:0", "-an",
                "-vf", f"select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,{interval:.3f})',"
                f"scale=w='min({side},iw)':h='min({side},ih)'"
                ":force_original_aspect_ratio=decrease:flags=area",
                "-fps_mode", "vfr", "-frames:v", str(count), "-f", "image2pipe", "-c:v", "png",
                "-"], limits)
    hashes = [pdq.pdq_hash(png + _PNG_END) for png in raw.split(_PNG_END) if png]
    if not hashes:
        raise corrupt()
    return tuple(dict.fromkeys(hashes))


def sanitize_av(data: bytes, sniffed: Sniffed, limits: Limits) -> CleanAV:
    """Check, strip and hash an audio or video file (blocking: run it in a worker)."""
    if len(data) > limits.max_av_bytes:
        raise MediaRefused("media_too_big", "Ce fichier est trop lourd.")
    demuxer = _DEMUXERS.get(sniffed.format)
    if demuxer is None:
        raise unsupported()
    with tempfile.TemporaryDirectory(prefix="cocon-av-") as tmp:
        src, dst = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        src.write_bytes(data)
        plan = _plan(probe(src, demuxer, limits), demuxer, sniffed, limits)
        args, mime = _remux_args(src, dst, plan, limits)
        _run(args, limits)
        out = dst.read_bytes()
        if not out or len(out) >= limits.max_av_bytes:
            raise MediaRefused("media_too_big", "Ce fichier est trop lourd.")
        after = probe(dst, demuxer, limits)
        again = _plan(after, demuxer, sniffed, limits)
        duration = _check_duration(after, limits, required=again.video is None and
                                   demuxer != "matroska")
        if again.video is not None:
            hashes = _hash_frames(dst, duration, limits)
            width, height = int(again.video["width"]), int(again.video["height"])
            kind: Kind = "video"
        else:
            _run(["ffmpeg", "-nostdin", "-v", "error", "-xerror", "-protocol_whitelist", "file",
                  "-t", "10", "-i", str(dst), "-f", "null", "-"], limits)
            hashes, width, height, kind = (), None, None, "audio"
    return CleanAV(out, kind, mime, width, height, duration, hashes)
