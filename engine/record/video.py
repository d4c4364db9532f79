"""RGB frames -> MP4 (H.264, fragmented, so a killed recording stays playable) or GIF.

The MP4 encoder is imageio-ffmpeg's bundled ffmpeg, run as our own subprocess: in its own session
(a Ctrl-C or SIGTERM sent to our process group does not kill it mid-fragment), with stderr caught so
a failure (disk full, unwritable file) becomes one clear line. If our process dies, ffmpeg sees the
end of its input and closes the last fragment itself.
"""
from __future__ import annotations

import re
import subprocess
import threading
from collections import deque
from pathlib import Path

import numpy as np

from engine.errors import NeuroscapeError

# Fragmented MP4: every keyframe starts a self-contained fragment, no index at the end to lose.
MP4_FLAGS = ["-movflags", "frag_keyframe+empty_moov+default_base_moof"]
GIF_MAX_BYTES = 2 << 30        # frames a GIF keeps in memory until it is written


class VideoError(NeuroscapeError):
    pass


def _ffmpeg_exe() -> str:
    import imageio_ffmpeg
    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_version() -> str:
    try:
        import imageio_ffmpeg
        return imageio_ffmpeg.get_ffmpeg_version()
    except Exception:  # noqa: BLE001 - informational only
        return "unknown"


OS_ERRORS = ("No space left on device", "Disk quota exceeded", "Permission denied", "Read-only file system",
             "No such file or directory", "Input/output error", "File too large")


def _reason(log: list[str]) -> str:
    """The most telling line of ffmpeg's error output: an OS error if there is one."""
    for phrase in OS_ERRORS:
        if any(phrase in line for line in log):
            return phrase
    lines = [re.sub(r"\[[^\]]* @ 0x[0-9a-f]+\]\s*", "", l) for l in log if l]
    return next((l for l in lines if "rror" in l), lines[-1] if lines else "")


class VideoWriter:
    """Write (H, W, 3) uint8 frames to ``path``: .mp4 via ffmpeg/libx264, .gif via Pillow.

    ``bottom_up``: frames arrive bottom row first (straight from glReadPixels); the writer flips
    them (ffmpeg's vflip for MP4, so the render thread never copies). ``keyint``: frames between
    keyframes, i.e. at most how many frames a hard kill can lose (default: one second)."""

    def __init__(self, path: str | Path, size: tuple[int, int], fps: int, *, bottom_up: bool = False,
                 crf: int = 20, preset: str = "ultrafast", keyint: int | None = None) -> None:
        self.path, self.size, self.fps = Path(path), (int(size[0]), int(size[1])), int(fps)
        self.bottom_up = bottom_up
        self.frames = 0
        self.closed = False
        self._gif: list[np.ndarray] | None = None
        self._proc: subprocess.Popen | None = None
        if self.fps < 1:
            raise VideoError(f"fps {fps} is too low: use --fps 1 or more")
        if self.path.suffix.lower() == ".gif":
            self._gif = []
            return
        w, h = self.size
        if w % 2 or h % 2:
            raise VideoError(f"video size {w}x{h} must be even for H.264: use e.g. {w // 2 * 2}x{h // 2 * 2}")
        self.settings = {"codec": "libx264", "preset": preset, "crf": crf, "pix_fmt": "yuv420p",
                         "keyint": keyint or self.fps, "container": "fragmented mp4"}
        cmd = [_ffmpeg_exe(), "-y", "-hide_banner", "-loglevel", "error",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(self.fps), "-i", "pipe:0",
               "-an", *(["-vf", "vflip"] if bottom_up else []),
               "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
               "-g", str(self.settings["keyint"]), *MP4_FLAGS, "-f", "mp4", str(self.path)]
        try:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, start_new_session=True)
        except OSError as e:
            raise VideoError(f"cannot start ffmpeg ({e.strerror}): reinstall imageio-ffmpeg") from None
        self._log: deque[str] = deque(maxlen=20)
        self._log_thread = threading.Thread(target=self._read_log, name="neuroscape-ffmpeg-log", daemon=True)
        self._log_thread.start()

    def _read_log(self) -> None:
        for line in iter(self._proc.stderr.readline, b""):
            self._log.append(line.decode(errors="replace").strip())

    def _failure(self, what: str) -> VideoError:
        if self._proc is not None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            self._log_thread.join(timeout=2)
        reason = _reason(list(self._log) if self._proc is not None else []) or what
        code = self._proc.returncode if self._proc is not None else None
        if code is not None and code < 0:          # ffmpeg was killed: the file is playable up to there
            return VideoError(f"the video encoder (ffmpeg) was killed by signal {-code} after {self.frames} frames: "
                              f"{self.path} plays up to about there; record again for the rest")
        hint = ("free some disk space or choose another -o" if "space" in reason.lower()
                else "check that the folder is writable and has free space, or choose another -o")
        return VideoError(f"writing {self.path} failed ({' '.join(reason.split())[:160]}): {hint}")

    def write(self, frame: np.ndarray) -> None:
        if self.closed:
            raise VideoError(f"{self.path} is already closed: start a new recording")
        if self._gif is not None:
            img = frame[::-1] if self.bottom_up else frame
            self._gif.append(np.array(img, dtype=np.uint8, copy=True))
            if len(self._gif) * self._gif[0].nbytes > GIF_MAX_BYTES:
                raise VideoError(f"{self.path}: a GIF this long and large needs over 2 GB of memory: "
                                 "lower --size or --duration, or record an .mp4")
        else:
            try:
                self._proc.stdin.write(memoryview(np.ascontiguousarray(frame)).cast("B"))
            except (BrokenPipeError, OSError, ValueError) as e:
                raise self._failure(str(getattr(e, "strerror", None) or e)) from None
        self.frames += 1

    def close(self) -> None:
        """Finish the file (idempotent). Raises VideoError if the encoder failed."""
        if self.closed:
            return
        self.closed = True
        if self._gif is not None:
            if self._gif:
                write_gif(self._gif, self.path, self.fps)
            return
        try:
            self._proc.stdin.close()
        except OSError:
            pass
        try:
            rc = self._proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            rc = self._proc.wait()
        self._log_thread.join(timeout=2)
        if rc != 0:
            raise self._failure(f"ffmpeg exited with code {rc}")

    def abort(self) -> None:
        """Close without raising (error paths): whatever was written stays playable."""
        try:
            self.close()
        except NeuroscapeError:
            pass

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_gif(frames: list[np.ndarray], path: str | Path, fps: int) -> Path:
    """Frames -> looping GIF with one shared 256-colour palette (no flicker between frames,
    smaller files); frame delays in whole centiseconds as GIF stores them."""
    from PIL import Image
    path = Path(path)
    step = max(1, len(frames) // 16)
    sample = np.concatenate([f[::2, ::2] for f in frames[::step]], axis=0)
    palette = Image.fromarray(np.ascontiguousarray(sample)).quantize(colors=255, method=Image.Quantize.MEDIANCUT)
    imgs = [Image.fromarray(np.ascontiguousarray(f)).quantize(palette=palette, dither=Image.Dither.NONE)
            for f in frames]
    delay = max(2, round(100 / fps)) * 10
    try:
        imgs[0].save(path, save_all=True, append_images=imgs[1:], loop=0, duration=delay, optimize=False,
                     disposal=1)
    except OSError as e:
        raise VideoError(f"writing {path} failed ({e.strerror or e}): free some disk space or choose "
                         "another -o") from None
    return path
