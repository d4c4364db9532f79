// Shared by every neuroscape program: per-frame uniforms, colormaps, fog, non-finite test.
// Included with `#include "common.glsl"` (resolved by engine/render/shaders.py).

layout(std140) uniform Frame {
    mat4 u_view_proj;     // world -> clip
    vec4 u_cam_pos;       // xyz: camera position
    vec4 u_cam_right;     // xyz: camera right (world), for billboards
    vec4 u_cam_up;        // xyz: camera up (world)
    vec4 u_fog;           // x: start distance, y: end distance, z: max amount (0..1)
    vec4 u_background;    // rgb: clear colour, fog colour
    vec4 u_viewport;      // x, y: framebuffer size in pixels; z: focal length in pixels; w: neuron gap factor
    vec4 u_nonfinite;     // rgb: colour of NaN / Inf values (engine/colormaps/palette.py)
    vec4 u_masked;        // rgb: colour of -inf where the slab's values are masked scores (flag 8)
};

uniform sampler2D u_colormaps;   // 256 x 2 RGBA: row 0 sequential, row 1 diverging

bool non_finite(float x) {
    // exponent all ones <=> NaN or +-Inf (robust against fast-math folding of isnan)
    return (floatBitsToUint(x) & 0x7f800000u) == 0x7f800000u;
}

vec3 sequential(float t) {
    return texture(u_colormaps, vec2(clamp(t, 0.0, 1.0) * (255.0 / 256.0) + 0.5 / 256.0, 0.25)).rgb;
}

vec3 diverging(float t) {   // t in [-1, 1], 0 -> centre of the map
    return texture(u_colormaps, vec2(clamp(0.5 * t + 0.5, 0.0, 1.0) * (255.0 / 256.0) + 0.5 / 256.0, 0.75)).rgb;
}

// Slab flags (engine/render/slabdata.py): 1 diverging colormap, 2 log scale, 4 no far pyramid,
// 8 -inf is a masked entry.
bool has_flag(float flags, int bit) {
    return (int(flags + 0.5) & bit) != 0;
}

// Colour of a neuron value: scale maps values into [-1, 1] (signed) or [0, 1]; with the log
// flag the value is drawn as sign(v) * log1p(|v|) (the scale is then 1 / log1p(max |v|)).
vec3 value_color(float value, float scale, float flags) {
    if (has_flag(flags, 8) && floatBitsToUint(value) == 0xff800000u) return u_masked.rgb;   // -inf: masked
    if (non_finite(value)) return u_nonfinite.rgb;
    if (has_flag(flags, 2)) value = sign(value) * log(1.0 + abs(value));
    float t = value * scale;
    return has_flag(flags, 1) ? diverging(t) : sequential(t);
}

float fog_amount(vec3 world) {
    float d = length(world - u_cam_pos.xyz);
    return u_fog.z * smoothstep(u_fog.x, u_fog.y, d);
}

vec3 apply_fog(vec3 color, vec3 world) {
    return mix(color, u_background.rgb, fog_amount(world));
}

// Tensor index of mosaic texel (col, row): tiles of tile_h x tile_w texels holding per_tile neurons
// each, tiles_c tiles a row (engine/layout/mosaic.py). Texels whose index is >= the layer's neuron
// count are padding (so is the end of a tile past per_tile).
int neuron_index(ivec2 cell, int cols, int tile_h, int tile_w, int per_tile) {
    int tiles_c = cols / tile_w;
    int t = (cell.y / tile_h) * tiles_c + cell.x / tile_w;
    int local = (cell.y % tile_h) * tile_w + cell.x % tile_w;
    return local < per_tile ? t * per_tile + local : 0x7fffffff;
}
