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
