#!/usr/bin/env bash
# Sets up everything Neuroscape needs on a fresh Debian/Ubuntu machine, idempotently:
# system packages (EGL/Mesa, Xvfb, xdotool, ffmpeg), a venv in .venv, torch + torchvision, the package.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS=(libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 xvfb xdotool x11-utils ffmpeg)
missing=()
for p in "${APT_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=$(command -v python3.11 || command -v python3)
stamp=.venv/.neuroscape-setup
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/neuroscape ]; then
  exit 0
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=(.venv/bin/python -m pip -q --disable-pip-version-check)
"${PIP[@]}" install -U pip 2>&1 | grep -v '^WARNING: Location' || true
# torch first, pinned: a bare `torch` requirement would pull a multi-GB CUDA build on its own terms.
echo "setup: installing torch and torchvision (a few minutes on a fresh machine)"
"${PIP[@]}" install torch==2.14.1 torchvision==0.29.1 2>&1 | grep -v '^WARNING: Location' || true
echo "setup: installing neuroscape and its dependencies"
"${PIP[@]}" install -e ".[models,onnx,explain,scale,notebook,test]" 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -c "import engine, torch, torchvision, vispy, OpenGL, glfw" \
  || { echo "setup: the venv is incomplete (see pip's messages above)"; exit 1; }
echo "$want" > "$stamp"
echo "setup: ready (.venv/bin/neuroscape)"
