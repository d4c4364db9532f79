"""`bench`'s picture of a run: each frame's time split into its stages (forward, upload, render,
readback, encode) as stacked bars, the frame interval as a line, the median fps in the title -- beside
the JSON, for people who would rather look than read."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.errors import NeuroscapeError

STAGE_COLOURS = {"forward_s": "#4c78a8", "upload_s": "#f58518", "render_s": "#54a24b", "readback_s": "#b279a2",
                 "encode_s": "#9d755d"}


def plot_frame_times(report: dict, path: str | Path) -> Path:
    """Write the PNG for a report of engine/record/report.build_report; returns its path."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    per = report.get("per_frame_s", {})
    n = max((len(v) for v in per.values()), default=0)
    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    x = np.arange(n)
    bottom = np.zeros(n)
    for key, colour in STAGE_COLOURS.items():
        v = np.zeros(n)
        got = np.asarray(per.get(key, []), np.float64) * 1e3
        v[:len(got)] = got
        ax.bar(x, v, bottom=bottom, width=1.0, color=colour, label=key.removesuffix("_s"), linewidth=0)
        bottom += v
    frame = np.asarray(per.get("frame_s", []), np.float64) * 1e3
    if len(frame):
        ax.plot(np.arange(len(frame)), frame, color="black", linewidth=1, label="frame interval")
    fps = report.get("recording_fps", {})
    ax.set_title(f"{report.get('model', '')}: {report.get('frames', 0)} frames {'x'.join(map(str, report.get('size', [])))}"
                 f", {fps.get('mean', 0):.1f} fps (median {fps.get('median', 0):.1f}) on {report.get('gl_renderer', '')}",
                 fontsize=9)
    ax.set_xlabel("frame")
    ax.set_ylabel("ms")
    ax.legend(loc="upper right", fontsize=8, ncol=3)
    ax.margins(x=0)
    fig.tight_layout()
    path = Path(path)
    tmp = path.with_name(path.name + ".partial.png")
    try:
        fig.savefig(tmp, format="png")
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise NeuroscapeError(f"cannot write {path} ({e.strerror}): free some disk space or choose another -o") \
            from None
    finally:
        plt.close(fig)
    return path
