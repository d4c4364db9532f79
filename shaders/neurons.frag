#version 330 core
// Round sprite with fake sphere shading; alpha feeds alpha-to-coverage for smooth rims (MSAA).
#include "common.glsl"

in vec3 v_color;
in vec3 v_world;
in float v_size;

out vec4 frag_color;

const vec3 LIGHT = vec3(-0.40, 0.55, 0.73);   // view space, normalised

void main() {
    vec2 p = gl_PointCoord * 2.0 - 1.0;
    float r2 = dot(p, p);
    if (r2 > 1.0) discard;
    vec3 n = vec3(p.x, -p.y, sqrt(1.0 - r2));
    float diffuse = max(dot(n, LIGHT), 0.0);
    float spec = pow(max(dot(reflect(-LIGHT, n), vec3(0.0, 0.0, 1.0)), 0.0), 24.0);
    vec3 color = v_color * (0.38 + 0.72 * diffuse) + vec3(0.22 * spec);
    float rim = clamp((1.0 - sqrt(r2)) * v_size * 0.5, 0.0, 1.0);
    frag_color = vec4(apply_fog(color, v_world), rim);
}
