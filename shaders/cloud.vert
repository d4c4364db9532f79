#version 330 core
// A point cloud (an embedding of a dataset): one point sprite per item, sized in world units.
#include "common.glsl"

layout(location = 0) in vec3 a_position;
layout(location = 1) in vec3 a_color;
uniform float u_size;          // world diameter of a point
uniform float u_max_point;     // GL_POINT_SIZE_RANGE max

out vec3 v_color;
out vec3 v_world;

void main() {
    v_color = a_color;
    v_world = a_position;
    gl_Position = u_view_proj * vec4(a_position, 1.0);
    float px = u_viewport.z * u_size * u_viewport.w / max(gl_Position.w, 1e-6);
    gl_PointSize = clamp(px, 2.0, u_max_point);
}
