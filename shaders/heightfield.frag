#version 330 core
// Colour by class probability at full texture resolution, the decision boundary (p = 0.5) as a
// thin bright contour, confidence contours at 0.25 / 0.75, lit by the surface's slope.
#include "field_common.glsl"

uniform sampler2D u_field;
uniform float u_res;

in vec2 v_uv;
in vec3 v_world;
out vec4 frag_color;

float contour(float p, float level, float width) {
    float w = max(fwidth(p), 1e-5) * width;
    return 1.0 - smoothstep(0.0, w, abs(p - level));
}

void main() {
    float p = texture(u_field, v_uv).r;
    int other = 1 - u_interest;
    if (u_classes > 2) {
        int c = int(texelFetch(u_field, ivec2(clamp(v_uv, 0.0, 0.9999) * u_res), 0).g + 0.5);
        other = c == u_interest ? (u_interest == 0 ? 1 : 0) : c;
    }
    vec3 color = prob_color(p, other);
    vec3 n = normalize(cross(dFdx(v_world), dFdy(v_world)));
    float light = 0.55 + 0.45 * abs(dot(n, normalize(vec3(-0.4, 0.85, 0.35))));
    color *= light;
    color = mix(color, vec3(0.15), 0.35 * max(contour(p, 0.25, 1.0), contour(p, 0.75, 1.0)));
    color = mix(color, vec3(1.0), contour(p, 0.5, 1.5));
    frag_color = vec4(color, 1.0);
}
