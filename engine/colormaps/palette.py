"""Named colours (RGB in 0..1) that are not colormaps: what the passes give their shaders as
uniforms and what compute paints images with."""
from __future__ import annotations

import numpy as np

NONFINITE = (1.0, 0.0, 1.0)             # NaN / Inf neurons: magenta in any colormap
MASKED = (0.16, 0.17, 0.22)             # -inf where it means "masked" (scores before a softmax): dim, not an error
FLOW_EDGE = (0.45, 0.80, 0.95)          # data flow between layers
SKIP_EDGE = (1.00, 0.60, 0.22)          # residual / long-range arcs
SLAB_FRAME = (0.70, 0.76, 0.88)         # outline of every slab
HIGHLIGHT_POSITIVE = (1.00, 0.90, 0.15)  # a picked neuron's positive contributions: warm
HIGHLIGHT_NEGATIVE = (0.15, 0.95, 1.00)  # ... negative: cold
# TensorFlow Playground's orange / blue for binary problems, then tab10 for more classes
CLASSES = np.array([(0.96, 0.58, 0.16), (0.10, 0.47, 0.78), (0.17, 0.63, 0.17), (0.84, 0.15, 0.16),
                    (0.58, 0.40, 0.74), (0.55, 0.34, 0.29), (0.89, 0.47, 0.76), (0.50, 0.50, 0.50),
                    (0.74, 0.74, 0.13), (0.09, 0.75, 0.81)], np.float32)
FIELD_NEUTRAL = (0.93, 0.93, 0.90)      # p = 0.5 on a decision field
FIELD_BOX = (0.55, 0.6, 0.7)            # the field's box outline
KERNEL_NEGATIVE = (0.20, 0.55, 1.00)    # conv kernel images: negative weights
KERNEL_POSITIVE = (1.00, 0.55, 0.15)    # ... positive
KERNEL_ZERO = (0.08, 0.08, 0.12)        # ... zero: dark, like the scene's diverging map
KERNEL_GAP = (20, 20, 28, 255)          # RGBA8 background between kernels
# the overview strip's bars, by layer kind (others: KIND_OTHER)
KIND_COLORS = {"input": (0.85, 0.85, 0.85), "conv": (0.30, 0.60, 0.95), "linear": (0.95, 0.60, 0.20),
               "attention": (0.90, 0.30, 0.55), "norm": (0.45, 0.75, 0.45), "activation": (0.95, 0.85, 0.30),
               "pooling": (0.55, 0.45, 0.85), "add": (0.95, 0.45, 0.30), "embedding": (0.35, 0.80, 0.80),
               "recurrent": (0.75, 0.50, 0.95), "reshape": (0.55, 0.55, 0.60)}
KIND_OTHER = (0.65, 0.68, 0.75)
STRIP_HERE = (1.0, 1.0, 1.0)             # the overview strip's you-are-here marker
