"""Scene -> pixels with OpenGL 3.3 core. The Renderer runs every registered pass
(engine/render/passes/) stage by stage -- opaque, transparent, overlay -- into its own
framebuffer; it never names a kind of drawable. Per frame Python fills one uniform block, each pass
uploads what changed, then issues its draws (one per visible slab, one per edge set, one for all
slab frames and one for all labels ...)."""
from __future__ import annotations

import numpy as np
from OpenGL import GL

from engine.render.errors import RenderError
from engine.render.frame import Extent, FrameState
from engine.render.passes import Pass, Stage, pass_types
from engine.render.passes.highlight import HighlightPass
from engine.render.passes.hud import HudPass
from engine.render.passes.panel import PanelPass
from engine.render.passes.strip import StripPass
from engine.render.png import save_png  # noqa: F401 - also importable from here (README, tests)
from engine.render.shared import Shared
from engine.render.slabdata import SlabData
from engine.render.targets import Targets
from engine.scene.camera import Camera
from engine.scene.cull import MODE_NAMES
from engine.scene.nodes import Scene

__all__ = ["Renderer", "render_image", "save_png"]


def _stage_state(stage: Stage) -> None:
    """The base GL state of a stage (a pass changes what it needs and restores the rest)."""
    if stage == Stage.OPAQUE:
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glDepthFunc(GL.GL_LEQUAL)
        GL.glDepthMask(GL.GL_TRUE)
        GL.glDisable(GL.GL_BLEND)
        GL.glDisable(GL.GL_CULL_FACE)
    elif stage == Stage.TRANSPARENT:
        GL.glDepthMask(GL.GL_FALSE)
        GL.glEnable(GL.GL_BLEND)
        GL.glBlendFuncSeparate(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA, GL.GL_ONE, GL.GL_ONE_MINUS_SRC_ALPHA)
    else:      # premultiplied overlays
        GL.glDepthMask(GL.GL_FALSE)
        GL.glEnable(GL.GL_BLEND)
        GL.glBlendFunc(GL.GL_ONE, GL.GL_ONE_MINUS_SRC_ALPHA)


class Renderer:
    """Draws a :class:`~engine.scene.scene.Scene` into its own framebuffer.

    Create it while a GL 3.3+ core context is current (OffscreenContext or a window) and use it
    only with that context current. ``samples`` is the MSAA sample count: 0 disables it; it is
    clamped to what the driver offers and falls back to 0 if the multisampled framebuffer is
    unsupported. ``None`` (the default) picks 4 on GPUs and 0 on software rasterisers
    (llvmpipe), where 4x MSAA costs 2-6x the frame time; without MSAA lines are coverage-
    antialiased (GL_LINE_SMOOTH) and neuron sprites get blended rims.
    """

    def __init__(self, scene: Scene, size: tuple[int, int], samples: int | None = None) -> None:
        try:
            version = GL.glGetString(GL.GL_VERSION)
        except Exception:  # noqa: BLE001 - PyOpenGL raises when no context is current
            version = None
        if not version:
            raise RenderError("no current OpenGL context: create an OffscreenContext (or a window) "
                              "before the Renderer")
        self.scene = scene
        size = (int(size[0]), int(size[1]))
        if size[0] < 1 or size[1] < 1:
            raise RenderError(f"render size {size} is empty: use a width and height of at least 1 pixel")
        self._released = False
        self.passes: list[Pass] = []
        self.shared: Shared | None = None
        self.targets: Targets | None = None
        self.frames = 0            # draws started (numbers the FrameState each pass sees)
        try:
            self.shared = Shared()
            if samples is None:
                samples = 0 if self.shared.software else 4
            self.targets = Targets(size, samples, self.shared.max_texture)
            self.shared.samples = self.targets.samples
            self.passes = [cls(self.shared) for cls in pass_types()]
            self.rebuild()
        except BaseException:
            self.release()
            raise

    # ------------------------------------------------------------------ scene
    def rebuild(self) -> None:
        """Re-read the scene (nodes, colormaps) after it changed; slabs whose ``values`` is None
        show zeros."""
        self.shared.generation += 1
        self.shared.extent = Extent(self.scene)
        self.shared.sync_colormaps(self.scene)
        for p in self.passes:
            p.build(self.scene)

    def pass_of(self, cls: type) -> Pass:
        """The running instance of a registered pass class."""
        for p in self.passes:
            if type(p) is cls:
                return p
        raise KeyError(f"{cls.__name__} is not a registered pass")

    # ------------------------------------------------------------------ frame
    def replay(self, cameras: list[Camera]) -> None:
        """Step the passes whose picture depends on earlier frames (label fades) through ``cameras``
        without drawing: a segment of a recording starts as if the frames before it had been drawn."""
        for cam in cameras:
            self.frames += 1
            frame = FrameState(cam, self.size, cam.view_projection(self.size[0] / self.size[1]), None, self.frames)
            for p in self.passes:
                if p.temporal:
                    p.prepare(frame, self.scene)

    def draw(self, camera: Camera | None = None, lod: dict[int, str] | None = None) -> None:
        """Render one frame into the renderer's framebuffer (read it with read_pixels / draw_to).
        ``lod`` forces slabs' level of detail by layer id ("cull", "slab", "points")."""
        if self._released:
            raise RenderError("this Renderer was released: create a new one")
        sc = self.scene
        cam = camera if camera is not None else sc.camera
        cam = cam.reaching(self.shared.extent.corners)
        self.frames += 1
        frame = FrameState(cam, self.size, cam.view_projection(self.size[0] / self.size[1]), lod, self.frames)
        self.shared.sync_colormaps(sc)
        self.shared.upload_frame(frame, sc.background)
        for p in self.passes:
            p.prepare(frame, sc)
        self.targets.begin(sc.background)
        stage = None
        for p in self.passes:
            if p.stage != stage:
                stage = p.stage
                _stage_state(stage)
            p.draw(frame, sc)
        GL.glBindVertexArray(0)
        GL.glUseProgram(0)
        GL.glActiveTexture(GL.GL_TEXTURE0)
        GL.glDepthMask(GL.GL_TRUE)
        GL.glDisable(GL.GL_BLEND)
        GL.glEnable(GL.GL_DEPTH_TEST)
        self.targets.end()
        for p in self.passes:
            p.after_frame()

    @property
    def size(self) -> tuple[int, int]:
        return self.targets.size

    @property
    def samples(self) -> int:
        return self.targets.samples

    @property
    def software(self) -> bool:
        return self.shared.software

    @property
    def gl_renderer(self) -> str:
        return self.shared.gl_renderer

    def resize(self, size: tuple[int, int]) -> None:
        size = (int(size[0]), int(size[1]))
        if size[0] < 1 or size[1] < 1:
            raise RenderError(f"render size {size} is empty: use a width and height of at least 1 pixel")
        if size != self.size:
            self.targets.create(size)
            self.shared.samples = self.targets.samples
            hud = self.pass_of(HudPass)
            if hud.lines:             # font size follows the framebuffer height
                hud.set(hud.lines, size)

    def read_pixels(self, out: np.ndarray | None = None) -> np.ndarray:
        """The last frame as (H, W, 3) uint8, top row first. Pass ``out`` to reuse an array."""
        return self.targets.read_pixels(out)

    def draw_to(self, fbo: int = 0, size: tuple[int, int] | None = None) -> None:
        """Copy the last frame into framebuffer ``fbo`` (0 = a window's default framebuffer),
        scaled to ``size`` (default: the renderer's size)."""
        self.targets.draw_to(fbo, size)

    @property
    def color_texture(self) -> int:
        """GL name of the single-sample RGBA8 texture holding the last frame."""
        return self.targets.resolve_tex

    def finish(self) -> None:
        """Block until the GPU has finished every queued command (for timing); frees the
        activation arrays replaced since (see attach_values)."""
        if self.values is not None:
            self.values.settle()
        else:
            GL.glFinish()

    # ------------------------------------------------------------------ overlays
    def set_hud(self, lines: list[str] | None, centered: bool = False) -> None:
        """Text lines drawn top-left (or centred) over the frame; re-rendered only when they change."""
        self.pass_of(HudPass).set(lines, self.size, centered)

    def set_highlight(self, positions: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Line segments drawn bright and thick on top of the frame: (2N, 3) endpoints, optional
        (2N,) weights in [-1, 1] (warm positive, cold negative)."""
        self.pass_of(HighlightPass).set(positions, weights)

    def clear_highlight(self) -> None:
        """Remove the highlighted segments."""
        self.pass_of(HighlightPass).clear()

    def set_panel(self, image: np.ndarray | None) -> None:
        """An (H, W, 4) uint8 RGBA image drawn in the bottom-right corner (None hides it)."""
        self.pass_of(PanelPass).set(image)

    def set_strip(self, image: np.ndarray | None, rect: tuple[int, int, int, int] | None = None) -> None:
        """The overview strip: an (H, W, 4) RGBA image at ``rect`` (x0, y0, x1, y1) pixels, origin
        top-left (None hides it)."""
        self.pass_of(StripPass).set(image, rect)

    # ------------------------------------------------------------------ live layer values
    @property
    def slab_data(self) -> SlabData:
        """The slabs' GPU side: values, parameters, level of detail (engine/render/slabdata.py)."""
        return self.shared.resource(SlabData)

    @property
    def values(self):
        """The slabs' neuron buffers (engine.render.values.LayerValues)."""
        return self.slab_data.values

    @property
    def last_lod(self) -> dict[int, str]:
        """Per layer id: "cull" / "slab" / "points" as the level of detail decided for the last
        draw (before occlusion culling; ``last_occluded`` counts the slabs skipped as hidden)."""
        return {lid: MODE_NAMES[m] for lid, m in zip(self.slab_data.arrays.ids, self.slab_data.last_modes.tolist())}

    @property
    def last_occluded(self) -> int:
        return self.slab_data.last_occluded

    @property
    def occlusion_culling(self) -> bool:
        """Skip slabs hidden behind one nearer opaque slab (exact: the image does not change)."""
        return self.slab_data.occlusion_culling

    @occlusion_culling.setter
    def occlusion_culling(self, on: bool) -> None:
        self.slab_data.occlusion_culling = bool(on)

    @property
    def sprite_culling(self) -> bool:
        """Draw only the sprites of a near slab that are in the picture (exact)."""
        return self.slab_data.sprite_culling

    @sprite_culling.setter
    def sprite_culling(self, on: bool) -> None:
        self.slab_data.sprite_culling = bool(on)

    @property
    def far_budget(self) -> float | None:
        """Seconds a draw may spend rebuilding far pyramids after new activations (None: all)."""
        return self.slab_data.far_budget

    @far_budget.setter
    def far_budget(self, seconds: float | None) -> None:
        self.slab_data.far_budget = seconds

    def has_layer(self, layer_id: int) -> bool:
        return layer_id in self.slab_data.index

    def update_values(self, layer_id: int, values, scale: float | None = None) -> None:
        """Copy a layer's activations into its buffer: ``values`` holds the ``count`` neurons
        flat in tensor order (float32 or float16), or the (rows, cols) mosaic image. ``scale``
        replaces ``slab.scale``. The slab keeps the written array in ``slab.values``."""
        d = self.slab_data
        i = d.slab_index(layer_id)
        d.slabs[i].values = d.values.write(i, values)
        d.values_arrived(i)
        if scale is not None and float(scale) != d.scale_of(i):
            d.set_scale(i, scale)

    def attach_values(self, layer_id: int, values: np.ndarray, scale: float | None = None) -> bool:
        """Show ``values`` (flat tensor order, C-contiguous float32/float16) for a layer, sharing
        the memory with GL where the driver can (True) instead of copying it (False). The array
        must not change until the next attach of this layer and one more drawn frame: the
        renderer keeps a reference until then."""
        d = self.slab_data
        i = d.slab_index(layer_id)
        shared = d.values.attach(i, values)
        d.slabs[i].values = d.values.data[i]
        d.values_arrived(i)
        if scale is not None and float(scale) != d.scale_of(i):
            d.set_scale(i, scale)
        return shared

    def show_scene_values(self) -> None:
        """Upload every slab's ``values``, ``signed`` and ``scale`` as the scene now holds them (an
        analysis replaced them)."""
        for s in self.slab_data.slabs:
            if s.values is not None:
                self.set_signed(s.layer_id, s.signed, False)
                self.attach_values(s.layer_id, np.ascontiguousarray(s.values, np.float32), s.scale)

    def read_texture(self, layer_id: int) -> np.ndarray:
        """A layer's neurons as GL holds them, flat float32 in tensor order (tests, debugging)."""
        return self.slab_data.values.read(self.slab_data.slab_index(layer_id))

    def set_signed(self, layer_id: int, signed: bool, log: bool | None = None) -> None:
        """Switch a layer between the diverging (signed) and sequential colormap; ``log`` draws
        sign(v) * log1p(|v|) instead of v (None: unchanged)."""
        d = self.slab_data
        i = d.slab_index(layer_id)
        d.set_flags(i, signed, d.is_log(i) if log is None else log)

    def set_scale(self, layer_id: int, scale: float) -> None:
        d = self.slab_data
        d.set_scale(d.slab_index(layer_id), scale)

    # ------------------------------------------------------------------ lifetime
    def release(self) -> None:
        """Delete every GL object (needs the context current; idempotent)."""
        if self._released:
            return
        self._released = True
        if self.targets is not None:
            self.targets.release()
        for p in self.passes:
            p.release()
        self.passes = []
        if self.shared is not None:
            self.shared.release()

    def __enter__(self) -> "Renderer":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def render_image(scene: Scene, size: tuple[int, int] = (1280, 720), camera: Camera | None = None,
                 samples: int | None = None, hud: list[str] | None = None,
                 highlight: tuple[np.ndarray, np.ndarray | None] | None = None) -> np.ndarray:
    """One frame of ``scene`` as an (H, W, 3) uint8 image, rendered headless (EGL).

    ``camera`` None uses ``scene.camera``; ``samples`` as for :class:`Renderer` (None: 4 on GPUs,
    0 on llvmpipe); ``hud`` optional overlay text lines; ``highlight`` optional (segments, weights)
    drawn as by set_highlight."""
    from engine.render.context import OffscreenContext
    with OffscreenContext():
        r = Renderer(scene, size, samples=samples)
        try:
            if hud:
                r.set_hud(hud)
            if highlight is not None and len(highlight[0]):
                r.set_highlight(*highlight)
            r.draw(camera if camera is not None else scene.camera)
            return r.read_pixels()
        finally:
            r.release()


