#version 330 core
// Layers as textured quads. Where a texel covers a pixel or more, the neuron itself (buffer
// texture, tensor order); where pixels cover several texels, the mosaic's mean pyramid, so every
// neuron is averaged into the pixels it covers. The two are blended across one level.
#include "common.glsl"

uniform samplerBuffer u_values;   // the layer's neurons in tensor order (R32F or R16F)
uniform sampler2D u_far;          // mean pyramid of the mosaic, levels 1.. (base level 1)

in vec2 v_uv;
in vec3 v_world;
flat in vec4 v_grid;
flat in vec3 v_map;
flat in int v_per_tile;

out vec4 frag_color;

void main() {
    vec2 grid = v_grid.xy;                 // (cols, rows)
    vec2 t = v_uv * grid;                  // texel coordinates
    vec2 px = max(fwidth(t), vec2(1e-6));  // texels per pixel

    vec3 color;
    ivec2 cell = ivec2(min(floor(t), grid - 1.0));
    int index = neuron_index(cell, int(grid.x), int(v_grid.z), int(v_grid.w), v_per_tile);
    if (index >= int(v_map.z)) {
        color = u_background.rgb * 1.6 + vec3(0.025);        // padding: no neuron here
    } else if (has_flag(v_map.y, 16)) {
        color = value_color(0.0, v_map.x, v_map.y);          // no values (structure only): flat
    } else {
        vec2 dx = dFdx(t), dy = dFdy(t);
        float lod = 0.5 * log2(max(max(dot(dx, dx), dot(dy, dy)), 1e-12));   // GL's level of detail
        float value;
        if (lod >= 1.0 && !has_flag(v_map.y, 4)) {
            value = textureLod(u_far, v_uv, lod - 1.0).r;                   // base level is 1
        } else {
            value = texelFetch(u_values, index).r;
            if (lod > 0.0 && !has_flag(v_map.y, 4))
                value = mix(value, textureLod(u_far, v_uv, 0.0).r, lod);
        }
        color = value_color(value, v_map.x, v_map.y);
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
