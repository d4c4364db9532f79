"""The viewer's and the playground's keys, listed once: the HUD's key hints (F1), `neuroscape view
--help` / `playground --help` and the README's key tables come from these lists (a test checks that the
README shows exactly them). No GL here, so the CLI's help stays light."""
from __future__ import annotations

# (key, a few words for the HUD and --help, the README's sentence)
VIEWER_KEYS: tuple[tuple[str, str, str], ...] = (
    ("W A S D", "fly", "fly forward / left / back / right, slower near layers so a tap moves a sensible step"),
    ("Q / E", "down/up", "down / up"),
    ("Shift", "fast", "4x faster"),
    ("mouse wheel", "speed", "flying speed (orbit mode: zoom)"),
    ("drag", "look", "look around (orbit mode: orbit); left button"),
    ("H", "home", "fly back to the overview the viewer opened with (the HUD offers it when nothing is in view)"),
    ("O", "orbit", "toggle orbit mode around the picked layer"),
    ("click", "pick", "pick a layer or neuron: name, op, parameters, shape, the neuron's position (channel, y, x; "
                      "head, query, key; ...) and value in the HUD, with the neuron's strongest incoming "
                      "contributions (weight x activation) listed and their edges highlighted (warm +, cold -); "
                      "bottom-right the layer's activation histogram with the neuron's value marked, and for a conv "
                      "layer its kernels under it (first layers as RGB images, deeper ones per input channel)"),
    ("double-click", "fly to", "fly to that layer"),
    ("L / G", "labels/edges", "labels / edges on or off (the HUD shows which)"),
    ("R", "rollout", "attention rollout on or off (transformers with token labels): lines from the picked token's "
                     "output row -- else the last token's -- back to the input tokens it draws on through all "
                     "layers, strongest in the HUD; a click ends it"),
    ("X", "attribution", "attribution: activations -> saliency -> gradient x input -> Integrated Gradients -> "
                         "Grad-CAM -> activations, for the top output on the input shown now; the output explained "
                         "and the top-5 in the HUD (PyTorch models with weights)"),
    (", / .", "checkpoints", "previous / next checkpoint of a `--compare-weights FOLDER` timeline"),
    ("V", "overview", "the overview strip (bottom left) on or off: every layer in data-flow order, bar height the "
                      "log of its neurons, colour its kind, a white mark under the layer nearest you (the HUD "
                      "names it); click a bar to fly there"),
    ("P", "screenshot", "screenshot (PNG, `--screenshot-dir`)"),
    ("K / J", "keyframe/save path", "add the current camera as a camera-path keyframe / save the path into a scene "
                                    "file (`<scene>-path.toml` beside the scene, or `--path-out`)"),
    ("F1", "keys", "these key hints on or off at the bottom of the HUD"),
    ("F11", "fullscreen", "toggle fullscreen"),
    ("Esc", "quit", "quit"),
)


PLAYGROUND_KEYS: tuple[tuple[str, str, str], ...] = (
    ("Space", "pause", "pause / resume training"),
    ("[ / ]", "lr", "halve / double the learning rate"),
    ("; / '", "L2", "less / more L2 regularization"),
    ("B", "batch", "next batch size (Shift+B: previous)"),
    ("Z / X", "noise", "less / more noise in the data"),
    ("T", "split", "next test split (Shift+T: previous)"),
    ("F", "activation", "next activation function"),
    ("N", "neurons", "add a neuron to the last hidden layer (Shift+N: remove one); the camera frames the new "
                      "network"),
    ("Y", "layer", "add a hidden layer (Shift+Y: remove the last one); the camera frames the new network"),
    ("R", "reset", "reset the weights"),
    ("C", "class", "next class shown by the field"),
    ("H", "surface/plane", "height field or flat plane (2D)"),
    ("U", "entropy", "the entropy field beside the decision field (1 bit where the classifier is unsure)"),
    ("M", "mesh", "export the p = 0.5 isosurface as OBJ (3D, marching cubes)"),
    ("drag", "orbit", "orbit around the field and the network; hovering a point shows its activations"),
    ("mouse wheel", "zoom", "zoom"),
    ("W A S D", "fly", "move the camera (Q / E: down / up)"),
    ("P", "screenshot", "screenshot (PNG, `--screenshot-dir`)"),
    ("F1", "keys", "these key hints on or off at the bottom of the HUD"),
    ("F11", "fullscreen", "toggle fullscreen"),
    ("Esc", "quit", "quit"),
)


def key_hint_lines(width_chars: int, keys: tuple[tuple[str, str, str], ...] = VIEWER_KEYS) -> list[str]:
    """The keys as "KEY what" items, wrapped into lines of at most ``width_chars`` characters."""
    lines, line = [], ""
    for key, short, _ in keys:
        item = f"{key.replace(' / ', '/').replace('W A S D', 'WASD')} {short}"
        if line and len(line) + 2 + len(item) > width_chars:
            lines.append(line)
            line = item
        else:
            line = f"{line}  {item}" if line else item
    return lines + ([line] if line else [])


def hud_key_lines(size: tuple[int, int], keys: tuple[tuple[str, str, str], ...] = VIEWER_KEYS) -> list[str]:
    """The key hints wrapped to a ``size`` framebuffer's width in the HUD's font (which follows its height)."""
    from engine.render.passes.hud import font_px      # here, not above: the CLI's help stays free of GL
    return key_hint_lines(max(30, int(0.9 * size[0] / (0.6 * font_px(size)))), keys)


def keys_help(keys: tuple[tuple[str, str, str], ...] = VIEWER_KEYS) -> str:
    """For argparse's epilog: one key a line."""
    import textwrap
    width = max(len(k) for k, _, _ in keys)
    pad = " " * (width + 4)
    return "keys:\n" + "\n".join(textwrap.fill(long, 100, initial_indent=f"  {k:<{width}}  ", subsequent_indent=pad)
                                  for k, _, long in keys)


def readme_table(keys: tuple[tuple[str, str, str], ...] = VIEWER_KEYS) -> str:
    """The README's key table (Markdown)."""
    return "| key | action |\n|---|---|\n" + "".join(f"| {k} | {long} |\n" for k, _, long in keys)
