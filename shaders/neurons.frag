#version 330 core
// Round sprite with fake sphere shading. Alpha is the rim coverage: it feeds alpha-to-coverage
// with MSAA, or straight alpha blending without it.
#include "common.glsl"

in vec3 v_color;
in vec3 v_world;
in float v_size;

out vec4 frag_color;

const vec3 LIGHT = vec3(-0.40, 0.55, 0.73);   // view space, normalised

void main() {
    float radius = 0.5 * v_size;                                          // pixels
    float r_px = length(gl_PointCoord - 0.5) * (v_size + 1.0);            // distance from centre
    float coverage = clamp(radius - r_px + 0.5, 0.0, 1.0);
    if (coverage <= 0.0) discard;
    vec2 p = (gl_PointCoord - 0.5) * (v_size + 1.0) / max(radius, 0.5);  // unit disc coordinates
    float r2 = min(dot(p, p), 1.0);
    vec3 n = vec3(p.x, -p.y, sqrt(1.0 - r2));
    float diffuse = max(dot(n, LIGHT), 0.0);
    float spec = pow(max(dot(reflect(-LIGHT, n), vec3(0.0, 0.0, 1.0)), 0.0), 24.0);
    vec3 color = v_color * (0.38 + 0.72 * diffuse) + vec3(0.22 * spec);
    frag_color = vec4(apply_fog(color, v_world), coverage);
}
