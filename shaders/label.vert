#version 330 core
// World-space text billboards: the quad spans the camera's right/up vectors from the anchor. A label
// keeps a readable screen size: it fades out below min px tall and stops growing above max px, and
// fades where it would overlap a label shown first (engine/scene/declutter.py).
#include "common.glsl"

layout(location = 0) in vec3 a_anchor;    // label bottom-left (world)
layout(location = 1) in vec2 a_offset;    // world units along camera right / up
layout(location = 2) in vec2 a_uv;        // atlas coordinates
layout(location = 3) in vec4 a_color;
layout(location = 4) in vec3 a_px;        // min px (0: never fade), max px (0: no limit), glyph height (world)
layout(location = 5) in float a_shown;    // 0..1: faded out where it would overlap a label shown first

out vec2 v_uv;
out vec4 v_color;
out vec3 v_world;

void main() {
    float dist = max(dot(a_anchor - u_cam_pos.xyz, cross(u_cam_up.xyz, u_cam_right.xyz)), 1e-4);
    float px = a_px.z * u_viewport.z / dist;                   // glyph height on screen
    float scale = (a_px.y > 0.0 && px > a_px.y) ? a_px.y / px : 1.0;
    float keep = (a_px.x > 0.0 ? smoothstep(0.7 * a_px.x, a_px.x, px) : 1.0) * a_shown;
    vec3 world = a_anchor + scale * (a_offset.x * u_cam_right.xyz + a_offset.y * u_cam_up.xyz);
    v_uv = a_uv;
    v_color = vec4(a_color.rgb, a_color.a * keep);
    v_world = world;
    gl_Position = keep > 0.0 ? u_view_proj * vec4(world, 1.0) : vec4(2.0, 2.0, 2.0, 1.0);   // faded: off screen
}
