#version 330 core
// Data points as point sprites: world position, class id, test flag from a vertex buffer.
#include "field_common.glsl"

layout(location = 0) in vec3 a_pos;
layout(location = 1) in float a_class;
layout(location = 2) in float a_test;

uniform float u_point_px;

flat out vec3 v_color;
flat out float v_test;

void main() {
    gl_Position = u_vp * vec4(a_pos, 1.0);
    v_color = class_color(int(a_class + 0.5));
    v_test = a_test;
    gl_PointSize = u_point_px;
}
