"""Offscreen frames -> MP4 (fragmented, so a killed recording stays playable) or GIF."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from engine.errors import NeuroscapeError
from engine.scene.nodes import Scene

# Fragmented MP4: every keyframe starts a self-contained fragment, no index at the end to lose.
MP4_FLAGS = ["-movflags", "frag_keyframe+empty_moov+default_base_moof", "-g", "30"]


class VideoWriter:
    """Write RGB uint8 frames to ``path`` (.mp4 via imageio-ffmpeg's bundled ffmpeg, .gif via Pillow)."""

    def __init__(self, path: str | Path, size: tuple[int, int], fps: int) -> None:
        self.path, self.size, self.fps = Path(path), size, fps
        self.frames = 0
        self._gif: list[np.ndarray] | None = None
        if self.path.suffix.lower() == ".gif":
            self._gif = []
            return
        if size[0] % 2 or size[1] % 2:
            raise NeuroscapeError(f"video size {size[0]}x{size[1]} must be even for H.264: use e.g. "
                                  f"{size[0] // 2 * 2}x{size[1] // 2 * 2}")
        import imageio_ffmpeg
        self._gen = imageio_ffmpeg.write_frames(str(self.path), size, fps=fps, codec="libx264",
                                                pix_fmt_out="yuv420p", quality=None, macro_block_size=1,
                                                output_params=["-preset", "ultrafast", "-crf", "20", *MP4_FLAGS],
                                                ffmpeg_log_level="error")
        self._gen.send(None)

    def write(self, frame: np.ndarray) -> None:
        if self._gif is not None:
            self._gif.append(frame)
        else:
            try:
                self._gen.send(np.ascontiguousarray(frame))
            except (OSError, BrokenPipeError, RuntimeError) as e:
                raise NeuroscapeError(f"writing {self.path} failed ({e}): check free disk space and "
                                      "that the folder is writable") from None
        self.frames += 1

    def close(self) -> None:
        if self._gif is not None:
            from PIL import Image
            imgs = [Image.fromarray(f) for f in self._gif]
            if imgs:
                imgs[0].save(self.path, save_all=True, append_images=imgs[1:], loop=0,
                             duration=int(1000 / self.fps), optimize=False)
            return
        self._gen.close()

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def record_flythrough(scene: Scene, path: str | Path, *, size: tuple[int, int] = (1280, 720), fps: int = 30,
                      duration: float = 6.0, samples: int | None = None, session=None) -> int:
    """Render the default fly-through path offscreen into a video; returns frames written.
    With a live ``session`` the model runs on frame t's input before frame t is drawn (fixed
    timestep: the video depends on the scene, input and seed only)."""
    from engine.record.path import default_path
    from engine.render.context import OffscreenContext
    from engine.render.renderer import Renderer

    n = max(1, int(round(duration * fps)))
    cams = default_path(scene, n)
    with OffscreenContext():
        r = Renderer(scene, size, samples=samples)
        try:
            with VideoWriter(path, size, fps) as w:
                for t, cam in enumerate(tqdm(cams, desc=f"recording {Path(path).name}", unit="frame",
                                             leave=False)):
                    if session is not None and t > 0 and (session.live or session.pulse):
                        session.apply(session.compute(t), t, renderer=r)
                    r.draw(cam)
                    w.write(r.read_pixels())
                return w.frames
        finally:
            r.release()
