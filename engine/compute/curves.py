"""The playground's training curves as a picture (axes, legend): train and test loss over the steps
and each layer's gradient norm, for the panel in the corner of its window and its recordings."""
from __future__ import annotations

import numpy as np

COLOURS = {"train": "#f58518", "test": "#4c78a8"}


def curves_image(history: list, grad_norms: dict[str, list[float]] | None = None,
                 size: tuple[int, int] = (380, 260)) -> np.ndarray | None:
    """(H, W, 4) uint8 RGBA of the loss curves above the per-layer gradient norms (log scale), dark like
    the HUD; None before the first step. ``history``: engine.compute.trainer Snapshots."""
    if not history:
        return None
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    steps = np.array([h.step for h in history], np.float64)
    rows = 2 if grad_norms else 1
    with plt.rc_context({"axes.facecolor": "#0b0c12", "figure.facecolor": "#0b0c12", "axes.edgecolor": "#777777",
                         "text.color": "#dddddd", "axes.labelcolor": "#dddddd", "xtick.color": "#bbbbbb",
                         "ytick.color": "#bbbbbb", "legend.facecolor": "#0b0c12", "legend.edgecolor": "#444444"}):
        fig, axes = plt.subplots(rows, 1, figsize=(size[0] / 100, size[1] / 100), dpi=100, squeeze=False)
    ax = axes[0, 0]
    for name, key in (("train", "train_loss"), ("test", "test_loss")):
        v = np.array([getattr(h, key) for h in history], np.float64)
        ok = np.isfinite(v) & (v > 0)
        ax.plot(steps[ok], v[ok], color=COLOURS[name], linewidth=1.2, label=f"{name} loss")
    ax.set_ylabel("loss", fontsize=7)
    ax.legend(fontsize=7, loc="upper right")
    ax.tick_params(labelsize=7)
    ax.set_xlabel("step", fontsize=7)
    if grad_norms:
        g = axes[1, 0]
        for name, values in grad_norms.items():
            v = np.asarray(values, np.float64)
            g.plot(np.arange(len(v)), v, linewidth=1.0, label=name)
        g.set_yscale("log")
        g.set_ylabel("|grad|", fontsize=7)
        g.set_xlabel("frame", fontsize=7)
        g.legend(fontsize=6, loc="upper right", ncol=2)
        g.tick_params(labelsize=7)
    fig.tight_layout(pad=0.4)
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba()).copy()
    plt.close(fig)
    return img
