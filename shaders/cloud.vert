#version 330 core
// A point cloud (an embedding of a dataset): one point sprite per item, sized in world units; far
// away, one sprite per voxel of items (engine/scene/cloud_lod.py) covering about the pixels its items
// would, but never more than its voxel.
#include "common.glsl"

layout(location = 0) in vec3 a_position;
layout(location = 1) in vec3 a_color;
layout(location = 2) in float a_count;   // items this sprite stands for (1: a single item)
layout(location = 3) in float a_voxel;   // world size of its voxel (0: a single item)
uniform float u_size;          // world diameter of a point
uniform float u_max_point;     // GL_POINT_SIZE_RANGE max

out vec3 v_color;
out vec3 v_world;

void main() {
    v_color = a_color;
    v_world = a_position;
    gl_Position = u_view_proj * vec4(a_position, 1.0);
    float scale = u_viewport.z * u_viewport.w / max(gl_Position.w, 1e-6);
    float px = max(scale * u_size, 2.0);
    if (a_voxel > 0.0) {
        px = max(px, min(px * sqrt(a_count), scale * a_voxel));
    }
    gl_PointSize = clamp(px, 2.0, u_max_point);
}
