#version 330 core
// Highlight colour by the sign of the contribution: warm for positive, cold for negative;
// opaque (drawn on top of everything, depth test off). Premultiplied output.
in float v_weight;

out vec4 frag_color;

uniform vec3 u_positive;    // engine/colormaps/palette.py
uniform vec3 u_negative;

void main() {
    float w = clamp(v_weight, -1.0, 1.0);
    vec3 color = w >= 0.0 ? u_positive : u_negative;
    float alpha = 0.55 + 0.45 * abs(w);
    frag_color = vec4(color * alpha, alpha);
}
