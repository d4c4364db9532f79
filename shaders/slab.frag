#version 330 core
// Far layers: the mipmapped value texture averages every neuron into the pixels it covers.
#include "common.glsl"

uniform sampler2D u_values;   // R32F, cols x rows, one texel per neuron

in vec2 v_uv;
in vec3 v_world;
flat in vec4 v_grid;
flat in vec3 v_map;

out vec4 frag_color;

void main() {
    vec2 grid = v_grid.xy;                 // (cols, rows)
    vec2 t = v_uv * grid;                  // texel coordinates
    vec2 px = max(fwidth(t), vec2(1e-6));  // texels per pixel

    vec3 color;
    ivec2 cell = ivec2(min(floor(t), grid - 1.0));
    if (neuron_index(cell, int(grid.x), int(v_grid.z), int(v_grid.w)) >= int(v_map.z)) {
        color = u_background.rgb * 1.6 + vec3(0.025);        // padding: no neuron here
    } else {
        float value = texture(u_values, v_uv).r;
        color = value_color(value, v_map.x, v_map.y > 0.5);
    }

    // thin darker borders between feature-map tiles, faded out when tiles get small on screen
    vec2 tile = v_grid.wz;                 // (tile_w, tile_h) in texels
    vec2 f = mod(t, tile);
    vec2 d = min(f, tile - f) / px;        // distance to the nearest tile border, in pixels
    float tile_px = min(tile.x / px.x, tile.y / px.y);
    float line = 1.0 - clamp(min(d.x, d.y) - 0.35, 0.0, 1.0);
    color *= 1.0 - 0.6 * line * smoothstep(5.0, 14.0, tile_px);

    frag_color = vec4(apply_fog(color, v_world), 1.0);
}
