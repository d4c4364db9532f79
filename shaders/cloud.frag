#version 330 core
// Round, lightly shaded discs; fogged like the rest of the scene.
#include "common.glsl"

in vec3 v_color;
in vec3 v_world;
out vec4 frag_color;

void main() {
    vec2 d = gl_PointCoord * 2.0 - 1.0;
    float r2 = dot(d, d);
    if (r2 > 1.0) discard;
    float shade = 0.75 + 0.25 * sqrt(1.0 - r2);
    frag_color = vec4(apply_fog(v_color * shade, v_world), 1.0);
}
