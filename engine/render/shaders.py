"""GLSL sources from shaders/ and the programs built from them.

Sources are looked up as package data of ``engine.shaders`` (how a wheel ships them) and,
failing that, in the repository's ``shaders/`` folder next to ``engine/`` (a source checkout
or an editable install, where ``engine.shaders`` may not be importable). ``#include "x.glsl"``
lines are expanded with ``#line`` directives so driver logs point at the right file and line.
"""
from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import Path

from engine.render.errors import RenderError

_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"\s*$')
_REPO_SHADERS = Path(__file__).resolve().parents[2] / "shaders"


def _package_dir():
    try:
        d = resources.files("engine.shaders")
    except (ModuleNotFoundError, TypeError, ValueError):
        return None
    return d


@functools.lru_cache(maxsize=None)
def read_shader(name: str) -> str:
    """Raw text of a shader file by name (e.g. ``"slab.frag"``)."""
    d = _package_dir()
    if d is not None:
        f = d.joinpath(name)
        try:
            if f.is_file():
                return f.read_text(encoding="utf-8")
        except OSError:
            pass
    f = _REPO_SHADERS / name
    if f.is_file():
        return f.read_text(encoding="utf-8")
    raise RenderError(f"shader file {name!r} not found in the engine.shaders package data nor in "
                      f"{_REPO_SHADERS}: reinstall neuroscape (pip install -e .) so shaders/ ships")


def shader_source(name: str) -> tuple[str, list[str]]:
    """Source with ``#include`` lines expanded, and the list of file names by GLSL source-string
    number (index 0 is ``name`` itself) for translating driver logs."""
    files = [name]

    def expand(fname: str, number: int, depth: int) -> list[str]:
        if depth > 8:
            raise RenderError(f"shader {name}: #include nesting too deep at {fname}")
        out: list[str] = []
        for i, line in enumerate(read_shader(fname).splitlines(), start=1):
            m = _INCLUDE.match(line)
            if not m:
                out.append(line)
                continue
            inc = m.group(1)
            files.append(inc)
            n = len(files) - 1
            out.append(f"#line 1 {n}")
            out.extend(expand(inc, n, depth + 1))
            out.append(f"#line {i + 1} {number}")
        return out

    return "\n".join(expand(name, 0, 0)) + "\n", files


def _translate_log(log: str, files: list[str]) -> str:
    """Mesa prints ``0:12(5): error``; NVIDIA ``0(12) : error``. Replace the source number by the file."""
    def sub(m):
        n = int(m.group(1))
        return (files[n] if n < len(files) else m.group(1)) + m.group(2)
    return re.sub(r"\b(\d+)([:(]\d+)", sub, log)


def _text(log) -> str:
    """A GL info log as text (PyOpenGL returns bytes or str depending on the platform)."""
    return log.decode(errors="replace") if isinstance(log, bytes) else str(log)


def _one_line(log: str, limit: int = 600) -> str:
    s = " | ".join(x.strip() for x in log.strip().splitlines() if x.strip())
    return s if len(s) <= limit else s[:limit] + " ..."


class Program:
    """A linked GL program from shader files, with every active uniform location cached."""

    def __init__(self, vert: str, frag: str) -> None:
        from OpenGL import GL
        self.name = f"{vert}+{frag}"
        shaders = [self._compile(GL, vert, GL.GL_VERTEX_SHADER), self._compile(GL, frag, GL.GL_FRAGMENT_SHADER)]
        prog = GL.glCreateProgram()
        for s in shaders:
            GL.glAttachShader(prog, s)
        GL.glLinkProgram(prog)
        for s in shaders:
            GL.glDetachShader(prog, s)
            GL.glDeleteShader(s)
        if not GL.glGetProgramiv(prog, GL.GL_LINK_STATUS):
            log = _text(GL.glGetProgramInfoLog(prog))
            GL.glDeleteProgram(prog)
            raise RenderError(f"shader program {self.name} failed to link: {_one_line(log)}")
        self.id = int(prog)
        self.uniforms: dict[str, int] = {}
        n = int(GL.glGetProgramiv(prog, GL.GL_ACTIVE_UNIFORMS))
        for i in range(n):
            uname = GL.glGetActiveUniform(prog, i)[0]
            uname = uname.decode() if isinstance(uname, bytes) else str(uname)
            loc = GL.glGetUniformLocation(prog, uname)
            if loc >= 0:
                self.uniforms[uname.removesuffix("[0]")] = int(loc)
        idx = GL.glGetUniformBlockIndex(prog, "Frame")
        self.has_frame_block = idx != GL.GL_INVALID_INDEX
        if self.has_frame_block:
            GL.glUniformBlockBinding(prog, idx, 0)

    @staticmethod
    def _compile(GL, fname: str, kind) -> int:
        src, files = shader_source(fname)
        s = GL.glCreateShader(kind)
        GL.glShaderSource(s, src)
        GL.glCompileShader(s)
        if not GL.glGetShaderiv(s, GL.GL_COMPILE_STATUS):
            log = _text(GL.glGetShaderInfoLog(s))
            GL.glDeleteShader(s)
            raise RenderError(f"shader {fname} failed to compile: {_one_line(_translate_log(log, files))}")
        return s

    def loc(self, name: str) -> int:
        """Cached location, -1 if the uniform is unused (optimised away)."""
        return self.uniforms.get(name, -1)

    def release(self) -> None:
        if self.id:
            from OpenGL import GL
            GL.glDeleteProgram(self.id)
            self.id = 0
