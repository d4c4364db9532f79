"""Offscreen rendering on whatever EGL gives (Mesa llvmpipe here and in CI): pixels, not mocks."""
from __future__ import annotations

import numpy as np
import pytest

from engine.errors import NeuroscapeError
from engine.render import RenderError
from engine.render.context import OffscreenContext
from engine.render.passes.hud import HudPass
from engine.colormaps import colormap_table
from engine.render.renderer import Renderer, render_image, save_png
from engine.scene import Camera, EdgeSet, Label, Scene, Slab
from engine.scene.lod import choose_lod

W, H = 160, 120
BG = (0.02, 0.02, 0.04)
BG8 = np.round(np.array(BG) * 255).astype(int)


def slab(layer_id, x, value, n=16, signed=False, y=-1.0, z=0.0, scale=1.0, tile=None):
    return Slab(layer_id=layer_id, name=f"s{layer_id}", kind="conv", rows=n, cols=n, count=n * n,
                tile=tile or (n, n), origin=np.array([x, y, z]), u=np.array([2.0 / n, 0, 0]),
                v=np.array([0, 2.0 / n, 0]), values=np.full((n, n), value, np.float32),
                signed=signed, scale=scale)


def camera():
    return Camera(position=np.array([0.0, 0.0, 10.0]))


def two_slab_scene(**kw):
    """High (1.0) slab on the left, low (0.0) slab on the right, both 2x2 world units."""
    return Scene([slab(0, -3.0, 1.0), slab(1, 1.0, 0.0)], camera=camera(), background=BG, **kw)


def project(cam, point, size=(W, H)):
    """Pixel (x, y) of a world point, origin top-left (like read_pixels rows)."""
    clip = cam.view_projection(size[0] / size[1]) @ np.r_[point, 1.0]
    ndc = clip[:3] / clip[3]
    return int((ndc[0] * 0.5 + 0.5) * size[0]), int((1 - (ndc[1] * 0.5 + 0.5)) * size[1])


def px(img, xy, r=1):
    """Mean colour of a (2r+1)^2 patch around pixel xy."""
    x, y = xy
    return img[y - r:y + r + 1, x - r:x + r + 1].reshape(-1, 3).mean(axis=0)


def is_bg(c, tol=6):
    return bool(np.all(np.abs(np.asarray(c, float) - BG8) <= tol))


def cmap8(name, t):
    return colormap_table(name)[int(round(t * 255)), :3] * 255


@pytest.fixture(scope="module")
def ctx():
    with OffscreenContext() as c:
        yield c


@pytest.fixture(scope="module")
def renderer(ctx):
    r = Renderer(two_slab_scene(), (W, H), samples=4)
    yield r
    r.release()


def test_context_reports_gl(ctx):
    assert ctx.renderer and ctx.version
    major = int(ctx.version.split()[0].split(".")[0])
    assert major >= 3
    assert issubclass(RenderError, NeuroscapeError)


def test_slabs_where_they_project_background_elsewhere(renderer):
    sc, cam = renderer.scene, renderer.scene.camera
    renderer.draw(cam)
    img = renderer.read_pixels()
    assert img.shape == (H, W, 3) and img.dtype == np.uint8 and img.flags.c_contiguous
    left, right = project(cam, sc.slabs[0].center), project(cam, sc.slabs[1].center)
    assert not is_bg(px(img, left)) and not is_bg(px(img, right))
    for corner in [(2, 2), (W - 3, 2), (2, H - 3), (W - 3, H - 3), (W // 2, H // 2)]:
        assert is_bg(px(img, corner)), corner
    # values map through the sequential colormap: 1.0 -> top of viridis, 0.0 -> bottom
    assert np.abs(px(img, left) - cmap8("viridis", 1.0)).max() < 14
    assert np.abs(px(img, right) - cmap8("viridis", 0.0)).max() < 14
    assert np.abs(px(img, left) - px(img, right)).sum() > 150


def test_tile_borders_and_padding(ctx):
    s = slab(0, -1.0, 0.5, n=32, tile=(8, 8))
    s.count = 32 * 32 - 40                      # last row partly padding
    sc = Scene([s], camera=Camera(position=np.array([0.0, 0.0, 2.2])), background=BG)
    img = render_image(sc, size=(W, H), samples=0).astype(int)
    u, v = s.u, s.v
    inside = px(img, project(sc.camera, s.origin + 12 * u + 12 * v))        # middle of a tile
    border = px(img, project(sc.camera, s.origin + 16 * u + 12 * v), r=0)   # on a tile border
    assert inside.sum() - border.sum() > 40
    pad = px(img, project(sc.camera, s.origin + 30.5 * u + 31.5 * v), r=0)  # past `count`
    assert np.abs(pad - inside).sum() > 100


def test_same_scene_same_image(renderer):
    cam = renderer.scene.camera
    renderer.draw(cam)
    a = renderer.read_pixels()
    renderer.draw(cam)
    b = renderer.read_pixels()
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_update_values_changes_colours(ctx):
    sc = two_slab_scene()
    with Renderer(sc, (W, H), samples=0) as r:
        left = project(sc.camera, sc.slabs[0].center)
        r.draw(sc.camera)
        before = px(r.read_pixels(), left)
        r.update_values(0, np.zeros((16, 16), np.float32))
        r.draw(sc.camera)
        after = px(r.read_pixels(), left)
        assert np.abs(after - cmap8("viridis", 0.0)).max() < 14
        assert np.abs(before - after).sum() > 150
        # flat input of `count` neurons and a new scale: 0.5 * 2 = 1.0 -> top of the map again
        r.update_values(0, np.full(256, 0.5, np.float32), scale=2.0)
        r.draw(sc.camera)
        assert np.abs(px(r.read_pixels(), left) - cmap8("viridis", 1.0)).max() < 14
        assert sc.slabs[0].scale == 2.0
        with pytest.raises(ValueError):
            r.update_values(0, np.zeros(7, np.float32))


def test_signed_slab_uses_diverging_map(ctx):
    sc = Scene([slab(0, -3.0, -1.0, signed=True), slab(1, 1.0, 1.0, signed=True)], camera=camera(),
               background=BG)
    img = render_image(sc, size=(W, H), samples=0)
    assert np.abs(px(img, project(sc.camera, sc.slabs[0].center)) - cmap8(sc.diverging, 0.0)).max() < 14
    assert np.abs(px(img, project(sc.camera, sc.slabs[1].center)) - cmap8(sc.diverging, 1.0)).max() < 14


def test_nan_and_inf_are_magenta(ctx):
    sc = two_slab_scene()
    sc.slabs[1].values[:] = np.nan
    sc.slabs[0].values[:] = np.inf
    img = render_image(sc, size=(W, H), camera=sc.camera, samples=0)
    for s in sc.slabs:
        c = px(img, project(sc.camera, s.center))
        assert c[0] > 235 and c[1] < 20 and c[2] > 235, c


def test_points_lod_reads_values_from_texture(ctx):
    sc = two_slab_scene()
    cam = Camera(position=np.array([-2.0, 0.0, 2.5]))      # close to the left slab
    lod = choose_lod(sc, cam, (W, H))
    assert lod[0] == "points"
    with Renderer(sc, (W, H), samples=0) as r:
        r.draw(cam, lod)
        img = r.read_pixels()
        centre = project(cam, sc.slabs[0].center)
        region = img[centre[1] - 20:centre[1] + 20, centre[0] - 20:centre[0] + 20].reshape(-1, 3).astype(int)
        lit = region[np.abs(region - BG8).sum(axis=1) > 30]
        assert len(lit) > 0.3 * len(region)                          # sprites cover the slab...
        assert (np.abs(region - BG8).sum(axis=1) <= 12).any()        # ...with gaps between them
        def yellowish(c):   # viridis(1.0) under sphere shading: red and green well above blue
            return (c[:, 0] > 2.5 * c[:, 2]) & (c[:, 1] > 2.5 * c[:, 2])
        assert yellowish(lit).mean() > 0.8                   # shaded discs of the high value
        r.update_values(0, np.zeros((16, 16), np.float32))
        r.draw(cam, lod)
        region2 = r.read_pixels()[centre[1] - 20:centre[1] + 20, centre[0] - 20:centre[0] + 20]
        lit2 = region2.reshape(-1, 3).astype(int)
        lit2 = lit2[np.abs(lit2 - BG8).sum(axis=1) > 30]
        assert len(lit2) > 0.3 * len(region)
        assert yellowish(lit2).mean() < 0.05                 # viridis(0.0) is purple
        assert (lit2[:, 2] > lit2[:, 1]).mean() > 0.8


def test_forced_points_lod_with_small_lod_px(ctx):
    sc = two_slab_scene()
    sc.lod_px = 0.1                      # every visible slab becomes points
    lod = choose_lod(sc, sc.camera, (W, H))
    assert set(lod.values()) == {"points"}
    img = render_image(sc, size=(W, H), samples=4)
    assert not is_bg(px(img, project(sc.camera, sc.slabs[0].center), r=3))


def test_edges_drawn_and_hidden(ctx):
    x = 0.0   # the gap between the slabs
    edges = [EdgeSet("flow", np.array([[x, -2.5, 0.0], [x, 2.5, 0.0]]), np.ones(2)),
             EdgeSet("skip", np.array([[x - 0.5, -2.5, 0.0], [x - 0.5, 2.5, 0.0]]), np.ones(2)),
             EdgeSet("weights", np.array([[x + 0.5, -2.5, 0.0], [x + 0.5, 2.5, 0.0]]), np.array([-1.0, -1.0]))]
    sc = two_slab_scene(edges=edges)
    cam = sc.camera
    img = render_image(sc, size=(W, H), samples=0)
    for e in edges:
        col = project(cam, e.positions[0] * [1, 0, 1])[0]
        strip = img[H // 2 - 10:H // 2 + 10, col - 1:col + 2].reshape(-1, 3)
        assert np.abs(strip.astype(int) - BG8).sum(axis=1).max() > 40, e.kind
    sc.show_edges = False
    img = render_image(sc, size=(W, H), samples=0)
    col = project(cam, np.array([x, 0, 0]))[0]
    assert is_bg(px(img, (col, H // 2)))


def test_labels_drawn_and_hidden(ctx):
    lab = Label("conv1", np.array([-2.0, 1.3, 0.0]), height=1.5)
    sc = two_slab_scene(labels=[lab])
    cam = sc.camera
    x0, y0 = project(cam, lab.position)                 # bottom-left of the text
    x1, y1 = project(cam, lab.position + [3.0, 1.5, 0])
    img = render_image(sc, size=(W, H), samples=4)
    box = img[y1:y0, x0:x1].reshape(-1, 3).astype(int)
    assert (box.min(axis=1) > 150).sum() > 10           # light glyph pixels
    assert is_bg(px(img, project(cam, lab.position + [-0.5, 0.75, 0])))   # nothing left of it
    sc.show_labels = False
    img = render_image(sc, size=(W, H), samples=4)
    box = img[y1:y0, x0:x1].reshape(-1, 3).astype(int)
    assert (box.min(axis=1) > 150).sum() == 0


def test_hud_top_left_and_cached(renderer):
    cam = renderer.scene.camera
    renderer.set_hud(["fps 60", "layers 2"])
    hud = renderer.pass_of(HudPass)
    size = hud.size
    renderer.set_hud(["fps 60", "layers 2"])            # unchanged text: no re-render
    assert hud.size == size
    renderer.draw(cam)
    img = renderer.read_pixels()
    renderer.set_hud([])
    panel = img[14:14 + size[1] - 4, 14:14 + size[0] - 4].reshape(-1, 3).astype(int)
    assert (panel.min(axis=1) > 150).sum() > 10          # light text
    assert is_bg(px(img, (W - 5, H - 5)))


def test_read_pixels_top_row_first(ctx):
    sc = Scene([slab(0, -1.0, 1.0, y=1.0)], camera=camera(), background=BG)   # above the centre
    img = render_image(sc, size=(W, H), samples=0)
    top = img[: H // 2].reshape(-1, 3).astype(int)
    bottom = img[H // 2 + 2:].reshape(-1, 3).astype(int)
    assert (np.abs(top - BG8).sum(axis=1) > 60).sum() > 100
    assert (np.abs(bottom - BG8).sum(axis=1) > 60).sum() == 0


def test_resize_draw_to_and_samples(ctx):
    from OpenGL import GL
    sc = two_slab_scene()
    with Renderer(sc, (W, H), samples=4) as r:
        assert r.samples in (0, 2, 4)
        r.resize((2 * W, 2 * H))
        r.draw(sc.camera)
        img = r.read_pixels()
        assert img.shape == (2 * H, 2 * W, 3)
        assert not is_bg(px(img, project(sc.camera, sc.slabs[0].center, (2 * W, 2 * H))))
        # draw_to: blit into another framebuffer (as a window's default framebuffer would be)
        fbo, tex = GL.glGenFramebuffers(1), GL.glGenTextures(1)
        GL.glBindTexture(GL.GL_TEXTURE_2D, tex)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, W, H, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, None)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
        GL.glFramebufferTexture2D(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_TEXTURE_2D, tex, 0)
        r.draw_to(fbo, (W, H))
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, fbo)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        out = np.frombuffer(GL.glReadPixels(0, 0, W, H, GL.GL_RGB, GL.GL_UNSIGNED_BYTE), np.uint8)
        out = out.reshape(H, W, 3)[::-1]
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        GL.glDeleteFramebuffers(1, [fbo])
        GL.glDeleteTextures([tex])
        assert not is_bg(px(out, project(sc.camera, sc.slabs[0].center)))
        assert is_bg(px(out, (W // 2, H // 2)))
    with Renderer(sc, (W, H), samples=0) as r0:
        assert r0.samples == 0
        r0.draw(sc.camera)
        assert r0.read_pixels().shape == (H, W, 3)


def test_render_image_and_save_png(tmp_path, ctx):
    sc = two_slab_scene(labels=[Label("hi", np.array([-3.0, 1.2, 0.0]), 0.5)])
    img = render_image(sc, size=(W, H))           # camera None -> scene.camera
    p = save_png(img, tmp_path / "out" / "frame.png")
    from PIL import Image
    back = np.asarray(Image.open(p))
    assert back.shape == (H, W, 3) and np.array_equal(back, img)


def test_shader_errors_name_the_file(ctx, tmp_path, monkeypatch):
    import engine.render.shaders as shaders
    from engine.render.shaders import Program, read_shader
    (tmp_path / "common.glsl").write_text("float helper() { return 1.0; }\n")
    (tmp_path / "hud.vert").write_text(read_shader("hud.vert"))
    (tmp_path / "hud.frag").write_text(read_shader("hud.frag"))
    (tmp_path / "bad.vert").write_text('#version 330 core\n#include "common.glsl"\n'
                                       "void main() { gl_Position = vec4(helper(), undefined_name, 0.0, 1.0); }\n")
    monkeypatch.setattr(shaders, "_REPO_SHADERS", tmp_path)
    monkeypatch.setattr(shaders, "_package_dir", lambda: None)
    read_shader.cache_clear()
    try:
        with pytest.raises(RenderError, match=r"bad\.vert.*undefined_name"):
            Program("bad.vert", "hud.frag")
        with pytest.raises(RenderError, match="missing.frag"):
            Program("hud.vert", "missing.frag")
    finally:
        read_shader.cache_clear()


def test_unknown_colormap_is_a_clear_error(ctx):
    sc = two_slab_scene()
    sc.colormap = "no-such-map"
    with pytest.raises(RenderError, match="no-such-map"):
        Renderer(sc, (W, H), samples=0)


def test_shader_sources_found():
    from engine.render.shaders import read_shader, shader_source
    for name in ["slab.vert", "slab.frag", "neurons.vert", "neurons.frag", "edges.vert", "edges.frag",
                 "label.vert", "label.frag", "hud.vert", "hud.frag", "common.glsl"]:
        assert read_shader(name).strip()
    src, files = shader_source("slab.frag")
    assert not [ln for ln in src.splitlines() if ln.lstrip().startswith("#include")]
    assert files == ["slab.frag", "common.glsl"]
    assert src.startswith("#version 330 core")


def test_vectorised_lod_matches_choose_lod():
    from engine.scene.cull import SlabArrays
    rng = np.random.default_rng(3)
    slabs = []
    for i in range(40):
        n = int(rng.integers(2, 40))
        s = slab(i, float(rng.uniform(-20, 20)), 0.0, n=n, y=float(rng.uniform(-20, 20)),
                 z=float(rng.uniform(-60, 5)))
        if i % 3 == 0:                      # some slabs turned sideways
            s.u, s.v = np.array([0, 0, 2.0 / n]), np.array([0, 2.0 / n, 0])
        slabs.append(s)
    sc = Scene(slabs)
    arrays = SlabArrays(slabs)
    for k in range(30):
        cam = Camera(position=rng.uniform([-30, -30, -70], [30, 30, 20]))
        cam.look_at(rng.uniform([-20, -20, -60], [20, 20, 5]))
        size = (int(rng.integers(50, 2000)), int(rng.integers(50, 1200)))
        sc.lod_px = float(rng.choice([0.5, 4.0, 20.0]))
        assert arrays.as_dict(arrays.modes(cam, size, sc.lod_px)) == choose_lod(sc, cam, size), k


def test_empty_scene_and_no_context(ctx):
    img = render_image(Scene([], background=BG), size=(32, 24), camera=camera())
    assert is_bg(img.reshape(-1, 3).mean(axis=0))
    import threading
    errors = []

    def worker():       # a fresh thread has no current GL context
        try:
            Renderer(two_slab_scene(), (W, H))
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert len(errors) == 1 and isinstance(errors[0], RenderError), errors
    assert "context" in str(errors[0])


def test_occlusion_culling_is_exact(ctx):
    # a stack along the view axis: the nearest (largest on screen) hides the rest, except one
    # larger slab at the back whose rim shows around it
    slabs = [slab(i, -1.0, i / 6.0, z=-1.5 * i) for i in range(6)]
    big = slab(6, -3.0, 1.0, z=-12.0)
    big.u, big.v = big.u * 3, big.v * 3
    sc = Scene(slabs + [big], camera=Camera(position=np.array([0.2, 0.1, 6.0])), background=BG)
    with Renderer(sc, (W, H), samples=0) as r:
        r.draw()
        culled = r.read_pixels()
        assert r.last_occluded == 5
        r.occlusion_culling = False
        r.draw()
        assert r.last_occluded == 0 and np.array_equal(r.read_pixels(), culled)
    assert not is_bg(px(culled, project(sc.camera, big.origin + 2 * big.u + 2 * big.v)))


def test_rebuild_follows_nodes_changed_in_place(ctx):
    sc = two_slab_scene()
    cam = sc.camera
    with Renderer(sc, (W, H), samples=0) as r:
        right = project(cam, sc.slabs[1].center)
        sc.slabs.pop()                                   # the same list, one slab fewer
        r.rebuild()
        r.draw(cam)
        assert is_bg(px(r.read_pixels(), right)) and not r.has_layer(1)
        sc.slabs.append(slab(1, 1.0, 1.0))               # back, now high
        r.rebuild()
        r.draw(cam)
        assert np.abs(px(r.read_pixels(), right) - cmap8("viridis", 1.0)).max() < 14


def _glyph_rows(img, level: int = 150) -> np.ndarray:
    """Rows of the image holding light (grey to white) text pixels."""
    light = img.reshape(img.shape[0], -1, 3).astype(int).min(axis=2) > level
    return np.flatnonzero(light.any(axis=1))


def test_labels_keep_a_readable_screen_size(ctx):
    """A label fades out below min_px tall and stops growing above max_px, wherever the camera is."""
    def rows_at(distance, **kw):
        lab = Label("tok", np.array([0.0, -0.1, 0.0]), height=0.2, **kw)
        sc = two_slab_scene(labels=[lab])                  # the slabs give the scene its extent (fog)
        sc.camera = Camera(position=np.array([0.0, 0.0, distance]))
        return _glyph_rows(render_image(sc, size=(W, H), samples=4)[:, W // 2:W // 2 + 20], level=60)

    focal = H / (2 * np.tan(np.radians(60.0) / 2))
    near = rows_at(0.5, min_px=9, max_px=24)            # 0.2 world units at 0.5: ~42 px unclamped
    assert near.size and np.ptp(near) + 1 <= 24             # glyphs within the 24 px label box
    free = rows_at(0.5, min_px=0, max_px=0)
    assert np.ptp(free) + 1 > 1.4 * (np.ptp(near) + 1)      # the same label without the clamp: ~42 px box
    assert rows_at(0.2 * focal / 12, min_px=9, max_px=24).size    # 12 px tall: shown
    assert rows_at(0.2 * focal / 5, min_px=9, max_px=24).size == 0   # 5 px tall: faded out
    assert rows_at(0.2 * focal / 5, min_px=0, max_px=0).size          # never fading: still drawn


def test_vertical_labels_run_upwards(ctx):
    lab = Label("keys", np.array([0.0, -0.4, 0.0]), height=0.15, vertical=True, min_px=0, max_px=0)
    sc = two_slab_scene(labels=[lab])
    sc.camera = Camera(position=np.array([0.0, 0.0, 1.2]))
    img = render_image(sc, size=(W, H), samples=4)[:, W // 2 - 10:W // 2 + 30]
    light = img.astype(int).min(axis=2) > 60
    ys, xs = np.nonzero(light)
    assert ys.size and np.ptp(ys) > 2 * np.ptp(xs)          # taller than wide


def test_dense_weight_fans_never_hide_the_activations_behind(ctx):
    """A fan of 3000 weight edges in front of a bright slab: the slab keeps its colour (lines are
    max-blended: they may brighten, never cover), and over the background the fan is a faint veil,
    not a solid sheet."""
    from engine.render.passes.edges import DENSE_REF
    rng = np.random.default_rng(0)
    n = 3000
    assert n > DENSE_REF
    a = np.c_[rng.uniform(-3, -1, n), rng.uniform(-1, 1, n), np.full(n, 2.0)]      # in front of both slabs
    b = np.c_[rng.uniform(1, 3, n), rng.uniform(-1, 1, n), np.full(n, 2.0)]
    pos = np.stack([a, b], axis=1).reshape(-1, 3)
    w = np.repeat(rng.uniform(-1, 1, n), 2)
    fan = EdgeSet("weights", pos, w)
    plain = render_image(two_slab_scene(), size=(W, H), samples=0).astype(int)
    img = render_image(two_slab_scene(edges=[fan]), size=(W, H), samples=0).astype(int)
    cam = camera()
    bright = project(cam, np.array([-2.0, 0.0, 0.0]))                                  # the high slab
    assert (px(img, bright) >= px(plain, bright) - 3).all()                            # not covered
    gap = project(cam, np.array([0.0, 0.0, 2.0]))                                      # only background behind
    assert px(img, gap).mean() < 0.35 * 255
    assert px(img, gap).mean() > px(plain, gap).mean() + 3                             # but the fan is there


def test_picture_labels_show_their_picture(ctx):
    """A token label with a picture (an image patch) draws the picture's colours, not text."""
    pic = np.zeros((16, 16, 3), np.uint8)
    pic[..., 0] = 230                                                  # red patch
    lab = Label("patch 0,0", np.array([-0.1, -0.1, 0.0]), height=0.2, color=(1, 1, 1, 1), min_px=0, max_px=0,
                image=pic)
    sc = two_slab_scene(labels=[lab])
    sc.camera = Camera(position=np.array([0.0, 0.0, 1.0]))
    img = render_image(sc, size=(W, H), samples=0).astype(int)
    red = (img[..., 0] > 180) & (img[..., 1] < 60) & (img[..., 2] < 60)
    assert red.sum() > 100


@pytest.mark.parametrize("where", ["inside", "grazing", "corner"])
def test_sprite_culling_is_exact(ctx, where):
    """A near slab of 300 x 200 neurons seen from close by: only the texel rows and columns in the
    picture are drawn, and the picture is the one drawing every sprite gives."""
    from engine.scene.cull import visible_params
    s = slab(0, -15.0, 0.5, z=0.0)
    s.rows, s.cols, s.count, s.tile = 200, 300, 60000, (200, 300)
    s.u, s.v = np.array([0.1, 0.0, 0.0]), np.array([0.0, 0.1, 0.0])
    s.values = np.linspace(0, 1, 60000, dtype=np.float32)
    cam = {"inside": Camera(position=np.array([0.0, 10.0, 1.5])),
           "grazing": Camera(position=np.array([0.0, 10.0, 1.0]), pitch=-12.0),
           "corner": Camera(position=np.array([-14.5, -0.5, 1.2]), yaw=-60.0, pitch=20.0)}[where]
    sc = Scene([s], camera=cam, background=BG)
    with Renderer(sc, (W, H), samples=0) as r:
        r.draw()
        assert r.last_lod[0] == "points"
        ranges = r.slab_data.point_ranges[0]
        assert ranges is not None and 0 < ranges[1].sum() < 0.8 * s.count      # a part of the slab only
        culled = r.read_pixels()
        r.sprite_culling = False
        r.draw()
        assert r.slab_data.point_ranges[0] is None
        full = r.read_pixels()
    assert (np.abs(culled.astype(int) - full.astype(int)).max(axis=2) > 0).sum() == 0
    assert (np.abs(full.astype(int) - np.array(BG) * 255).max(axis=2) > 30).mean() > 0.2      # neurons shown
    vp = cam.view_projection(W / H)
    assert visible_params(s.origin, s.u * s.cols, s.v * s.rows, vp) is not None
