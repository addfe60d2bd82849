"""Audio and video: metadata stripped by ffmpeg, types checked by ffprobe, frames hashed."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from cocon.media import Limits, intake

# Planted tags, the location, ID3 tags, versioned muxer names ("Lavf59.27.100"). A bare
# "Lavf" (bitexact muxing-app field) or an encoder id inside an AAC bitstream is no leak.
_LEAKS = (b"CoconSecret", b"+48.8584", b"Lavf5", b"ID3", b"handler_name", b"x264 - core")


def _tags(ffprobe_json: bytes) -> list[dict[str, str]]:
    info = json.loads(ffprobe_json)
    found = [info.get("format", {}).get("tags", {})]
    found += [s.get("tags", {}) for s in info.get("streams", [])]
    return found


def _probe(data: bytes, tmp_path: Path) -> bytes:
    path = tmp_path / "probe.bin"
    path.write_bytes(data)
    return subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams",
                           "-show_chapters", "-of", "json", str(path)], check=True,
                          capture_output=True, timeout=30).stdout


@pytest.mark.parametrize(("sample", "kind", "mime"), [
    ("mp4", "video", "video/mp4"), ("mov", "video", "video/mp4"),
    ("webm", "video", "video/webm"), ("webm-audio", "audio", "audio/webm"),
    ("mp3", "audio", "audio/mpeg"), ("ogg", "audio", "audio/ogg"), ("m4a", "audio", "audio/mp4"),
])
async def test_accepted_and_stripped(av_samples: dict[str, bytes], tmp_path: Path,
                                     sample: str, kind: str, mime: str) -> None:
    original = av_samples[sample]
    assert b"CoconSecret" in original  # the metadata really was there
    result = await intake(original)
    assert result.ok, result.refusal
    assert (result.kind, result.mime) == (kind, mime)
    assert result.duration is not None and 1.5 <= result.duration <= 2.5
    for leak in _LEAKS:
        assert leak not in result.data, leak
    info = json.loads(_probe(result.data, tmp_path))
    assert not info.get("chapters")
    for tags in _tags(_probe(result.data, tmp_path)):
        assert not {"title", "location", "comment", "artist"} & set(tags), tags
        assert tags.get("encoder", "Lavf") == "Lavf", tags  # bitexact: no version
    streams = info["streams"]
    assert all(s["codec_type"] in ("video", "audio") for s in streams)
    assert not any(s.get("disposition", {}).get("attached_pic") for s in streams)  # mp3 cover
    if kind == "video":
        assert (result.width, result.height) == (160, 120)
        assert result.pdq and len(result.pdq[0][0]) == 64
    else:
        assert result.pdq == () and result.width is None


@pytest.mark.parametrize(("sample", "code"), [
    ("mkv", "media_unsupported_type"),
    ("avi", "media_unsupported_type"),
    ("mp4-mpeg2", "media_unsupported_type"),
    ("ogg-theora", "media_unsupported_type"),
])
async def test_refused_containers_and_codecs(av_samples: dict[str, bytes], sample: str,
                                             code: str) -> None:
    result = await intake(av_samples[sample])
    assert result.refusal is not None and result.refusal.code == code, result.refusal


async def test_truncated_video_refused(av_samples: dict[str, bytes]) -> None:
    result = await intake(av_samples["mp4"][:3000])
    assert result.refusal is not None and result.refusal.code == "media_corrupt"


async def test_duration_and_size_limits(av_samples: dict[str, bytes]) -> None:
    result = await intake(av_samples["mp4"], Limits(max_duration_s=1.0))
    assert result.refusal is not None and result.refusal.code == "media_too_long"
    result = await intake(av_samples["mp4"], Limits(max_av_bytes=1000))
    assert result.refusal is not None and result.refusal.code == "media_too_big"


async def test_tool_timeout(av_samples: dict[str, bytes]) -> None:
    result = await intake(av_samples["webm"], Limits(tool_timeout_s=0.001))
    assert result.refusal is not None and result.refusal.code == "media_timeout"


async def test_video_frames_hashed_and_match_a_listed_frame(
        av_samples: dict[str, bytes], ffmpeg: str, tmp_path: Path) -> None:
    from cocon.media import HashIndex, pdq_hash

    src = tmp_path / "v.mp4"
    src.write_bytes(av_samples["mp4"])
    frame = tmp_path / "frame.png"
    await asyncio.to_thread(subprocess.run, [ffmpeg, "-v", "error", "-i", str(src),
                            "-frames:v", "1", str(frame)], check=True, timeout=30)
    index = HashIndex()
    index.set_list("frames", [pdq_hash(frame)[0]])
    result = await intake(av_samples["mp4"], blocklist=index)
    assert result.refusal is not None and result.refusal.code == "media_blocked"
