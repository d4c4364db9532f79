#version 330 core
// Training points: filled discs with a dark rim; test points: a thick ring of their class colour.
#include "field_common.glsl"

flat in vec3 v_color;
flat in float v_test;
out vec4 frag_color;

void main() {
    float r = length(gl_PointCoord - 0.5) * 2.0;
    if (r > 1.0) discard;
    vec3 color = r > 0.72 ? vec3(0.05) : v_color;
    if (v_test > 0.5) color = r > 0.45 ? (r > 0.85 ? vec3(0.05) : v_color) : vec3(1.0);
    frag_color = vec4(color, 1.0);
}
