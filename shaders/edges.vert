#version 330 core
// Edge segments (GL_LINES): position + weight per endpoint.
#include "common.glsl"

layout(location = 0) in vec3 a_position;
layout(location = 1) in float a_weight;

out vec3 v_world;
out float v_weight;

void main() {
    v_world = a_position;
    v_weight = a_weight;
    gl_Position = u_view_proj * vec4(a_position, 1.0);
}
