#version 330 core
// Highlight colour by the sign of the contribution: warm for positive, cold for negative;
// opaque (drawn on top of everything, depth test off). Premultiplied output.
in float v_weight;

out vec4 frag_color;

const vec3 POSITIVE = vec3(1.00, 0.90, 0.15);
const vec3 NEGATIVE = vec3(0.15, 0.95, 1.00);

void main() {
    float w = clamp(v_weight, -1.0, 1.0);
    vec3 color = w >= 0.0 ? POSITIVE : NEGATIVE;
    float alpha = 0.55 + 0.45 * abs(w);
    frag_color = vec4(color * alpha, alpha);
}
