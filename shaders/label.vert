#version 330 core
// World-space text billboards: the quad spans the camera's right/up vectors from the anchor.
#include "common.glsl"

layout(location = 0) in vec3 a_anchor;    // label bottom-left (world)
layout(location = 1) in vec2 a_offset;    // world units along camera right / up
layout(location = 2) in vec2 a_uv;        // atlas coordinates
layout(location = 3) in vec4 a_color;

out vec2 v_uv;
out vec4 v_color;
out vec3 v_world;

void main() {
    vec3 world = a_anchor + a_offset.x * u_cam_right.xyz + a_offset.y * u_cam_up.xyz;
    v_uv = a_uv;
    v_color = a_color;
    v_world = world;
    gl_Position = u_view_proj * vec4(world, 1.0);
}
