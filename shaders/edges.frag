#version 330 core
// Blended, depth-tested (not depth-written) lines. Output is straight (not premultiplied)
// alpha so GL_LINE_SMOOTH coverage can scale it when there is no MSAA; dense weight fans are
// max-blended instead (colour x alpha), so overlapping lines never pile up into a sheet.
#include "common.glsl"

uniform int u_kind;        // 0 weights (diverging colormap by sign), 1 flow, 2 skip, 3 slab frame
uniform vec3 u_color;      // kinds 1-3 (engine/colormaps/palette.py)
uniform float u_alpha;
uniform int u_max_blend;   // 1: drawn with GL_MAX (dense weight fans): colour pre-scaled by alpha

in vec3 v_world;
in float v_weight;

out vec4 frag_color;

void main() {
    float w = clamp(v_weight, -1.0, 1.0);
    vec3 color;
    float alpha = u_alpha;
    if (u_kind == 0) {
        color = diverging(w);
        alpha *= 0.25 + 0.75 * abs(w);
    } else {
        color = u_color;
        if (u_kind == 1) alpha *= 0.35 + 0.65 * abs(w);
        else if (u_kind == 2) alpha *= 0.45 + 0.55 * abs(w);
    }
    alpha *= 1.0 - fog_amount(v_world);
    frag_color = u_max_blend == 1 ? vec4(color * alpha, alpha) : vec4(color, alpha);
}
