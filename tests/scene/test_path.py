"""Camera paths the viewer records (K adds a keyframe, J saves): a scene file that records."""
import numpy as np
import pytest


def test_viewer_keyframes_save_a_scene_file_that_records(tmp_path):
    from engine.pipeline import load
    from engine.scene.path import PathBuilder, scene_camera_path
    from engine.scene.camera import Camera
    from engine.scenefile import load_scene_file, resolve_spec
    base = tmp_path / "mine.toml"
    base.write_text('[model]\nname = "cnn"\n\n[[path]]\norbit = "features.0"\n\n[look]\nshow_edges = false\n')
    scene = load(resolve_spec(str(base))).scene
    b = PathBuilder(scene, base=str(base))
    b.add(Camera(position=np.array([8.0, 4.0, 5.0])).look_at([0, 0, -5]), now=0.0)
    b.add(Camera(position=np.array([6.0, 3.0, -20.0])).look_at([0, 0, -22]), now=2.5)
    saved = b.save()
    assert saved == tmp_path / "mine-path.toml" and b.save() == saved       # later saves update the same file
    spec = load_scene_file(saved)
    assert spec.look == {"show_edges": False} and len(spec.camera_path) == 2   # the old [[path]] was replaced
    assert spec.camera_path[1]["duration"] == pytest.approx(2.5)
    path = scene_camera_path(scene, spec)
    assert path.duration == pytest.approx(2.5) and np.allclose(path.at(0).position, [8, 4, 5])
    assert PathBuilder(scene, base=str(base)).default_out() == tmp_path / "mine-path-2.toml"   # never clobbers


def test_a_saved_camera_path_carries_the_input_it_was_made_with(tmp_path):
    """J's scene file says the viewer's --input in its [input] table (replacing the base file's), so the
    path replays on the same input: text, a kind, or a file (made absolute)."""
    from engine.pipeline import input_spec_of
    from engine.scene.path import save_path_file
    from engine.scenefile import load_scene_file
    entries = [{"position": [0.0, 0.0, 5.0], "look_at": [0.0, 0.0, 0.0]}]
    photo = tmp_path / "cat.png"
    photo.write_bytes(b"x")
    for given, want in (("digits", "digits"), ("text:a list is", "text:a list is"), (str(photo), str(photo))):
        out = save_path_file(entries, tmp_path / "p.toml", model="cnn", input_spec=given)
        assert input_spec_of(load_scene_file(out)) == want
    base = tmp_path / "base.toml"
    base.write_text('[model]\nname = "cnn"\n[input]\nkind = "noise"\n[look]\nshow_edges = false\n')
    spec = load_scene_file(save_path_file(entries, tmp_path / "q.toml", base=base, input_spec="digits"))
    assert input_spec_of(spec) == "digits" and spec.look["show_edges"] is False and len(spec.camera_path) == 1
    kept = load_scene_file(save_path_file(entries, tmp_path / "r.toml", base=base))
    assert input_spec_of(kept) == "noise"
