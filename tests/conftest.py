import os

# Test modules import OpenGL (third party) before engine (first party); engine/render/glplatform.py
# chooses EGL only when engine.render is imported first, so the harness chooses it up front.
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def pytest_collection_modifyitems(items):
    """Tests in a real window (marker ``display``) take seconds each: they count as ``slow`` too, so
    ``pytest -m "not slow"`` is the quick loop."""
    import pytest
    for item in items:
        if item.get_closest_marker("display"):
            item.add_marker(pytest.mark.slow)
