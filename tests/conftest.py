import os

# Test modules import OpenGL (third party) before engine (first party); engine/render/glplatform.py
# chooses EGL only when engine.render is imported first, so the harness chooses it up front.
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
