"""Fixtures of the media tests: the PDQ reference folder, ffmpeg-made samples."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

#: Beside the repository: <parent of repo>/shared/testdata/pdq
PDQ_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "pdq"


def _missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing (required when CI=true)")
    pytest.skip(f"{what} is missing")


@pytest.fixture(scope="session")
def pdq_dir() -> Path:
    if not (PDQ_DIR / "reference-hashes.csv").is_file():
        _missing(f"PDQ test data folder {PDQ_DIR}")
    return PDQ_DIR


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None or shutil.which("ffprobe") is None:
        _missing("ffmpeg/ffprobe (Debian package ffmpeg)")
    assert path is not None
    return path


SECRET_TAGS = ["-metadata", "title=CoconSecret title", "-metadata",
               "location=+48.8584+002.2945/", "-metadata", "comment=CoconSecret comment",
               "-metadata", "artist=CoconSecret artist"]


def make_av(ffmpeg: str, out: Path, *args: str) -> bytes:
    subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-y", *args, str(out)], check=True,
                   timeout=60)
    return out.read_bytes()


@pytest.fixture(scope="session")
def av_samples(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Short clips with planted metadata, one per accepted container (and a few refused)."""
    d = tmp_path_factory.mktemp("av")
    video = ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=2"]
    audio = ["-f", "lavfi", "-i", "sine=frequency=440:duration=2"]
    cover = ["-f", "lavfi", "-i", "color=c=red:size=64x64:duration=1"]
    return {
        "mp4": make_av(ffmpeg, d / "a.mp4", *video, *audio, "-c:v", "libx264", "-preset",
                       "ultrafast", "-c:a", "aac", *SECRET_TAGS, "-metadata:s:v",
                       "handler_name=CoconSecretCam", "-shortest"),
        "mov": make_av(ffmpeg, d / "a.mov", *video, "-c:v", "libx264", "-preset", "ultrafast",
                       *SECRET_TAGS),
        "webm": make_av(ffmpeg, d / "a.webm", *video, *audio, "-c:v", "libvpx", "-deadline",
                        "realtime", "-c:a", "libopus", *SECRET_TAGS, "-shortest"),
        "webm-audio": make_av(ffmpeg, d / "v.webm", *audio, "-c:a", "libopus", *SECRET_TAGS),
        "mp3": make_av(ffmpeg, d / "a.mp3", *audio, *cover, "-map", "0", "-map", "1",
                       "-c:a", "libmp3lame", "-c:v", "mjpeg", "-disposition:v",
                       "attached_pic", "-id3v2_version", "3", *SECRET_TAGS),
        "ogg": make_av(ffmpeg, d / "a.ogg", *audio, "-c:a", "libvorbis", *SECRET_TAGS),
        "m4a": make_av(ffmpeg, d / "a.m4a", *audio, "-c:a", "aac", *SECRET_TAGS),
        "mkv": make_av(ffmpeg, d / "a.mkv", *video, "-c:v", "libx264", "-preset",
                       "ultrafast"),
        "avi": make_av(ffmpeg, d / "a.avi", *video, "-c:v", "mpeg4"),
        "mp4-mpeg2": make_av(ffmpeg, d / "b.mp4", *video, "-c:v", "mpeg2video"),
        "ogg-theora": make_av(ffmpeg, d / "t.ogg", *video, "-c:v", "libtheora"),
    }
