#version 330 core
// Highlighted segments (picked neuron's strongest inputs) as screen-space quads u_width pixels
// wide: six vertices a segment, each carrying both endpoints, which end it sits at (a_t 0 or 1)
// and which side of the line (a_side -1 or 1).
#include "common.glsl"

layout(location = 0) in vec3 a_from;
layout(location = 1) in vec3 a_to;
layout(location = 2) in vec2 a_t_side;
layout(location = 3) in float a_weight;

uniform float u_width;     // pixels, for |weight| = 1; weaker segments are thinner (down to 30%)

out float v_weight;

void main() {
    vec4 ca = u_view_proj * vec4(a_from, 1.0);
    vec4 cb = u_view_proj * vec4(a_to, 1.0);
    ca.w = max(ca.w, 1e-4);   // an endpoint behind the camera: keep the quad finite
    cb.w = max(cb.w, 1e-4);
    vec2 px = u_viewport.xy;
    vec2 sa = ca.xy / ca.w * 0.5 * px;
    vec2 sb = cb.xy / cb.w * 0.5 * px;
    vec2 d = sb - sa;
    d = length(d) > 1e-6 ? normalize(d) : vec2(1.0, 0.0);
    vec2 n = vec2(-d.y, d.x);
    vec4 c = a_t_side.x < 0.5 ? ca : cb;
    float width = u_width * mix(0.3, 1.0, clamp(abs(a_weight), 0.0, 1.0));
    c.xy += n * a_t_side.y * width / px * c.w;
    v_weight = a_weight;
    gl_Position = c;
}
