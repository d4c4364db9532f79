#version 330 core
// A layer drawn as one textured quad ("slab" level of detail). No vertex buffer: the four
// corners come from gl_VertexID (triangle strip), the slab's placement from u_params.
#include "common.glsl"

uniform samplerBuffer u_params;   // 5 RGBA32F texels per slab, see engine/render/slabdata.py
uniform int u_slab;               // index of this slab in u_params

out vec2 v_uv;
out vec3 v_world;
flat out vec4 v_grid;     // cols, rows, tile_h, tile_w
flat out vec3 v_map;      // scale, signed, count
flat out int v_per_tile;  // neurons per tile

void main() {
    int base = 5 * u_slab;
    vec4 p0 = texelFetch(u_params, base);       // origin.xyz, scale
    vec4 p1 = texelFetch(u_params, base + 1);   // U = u * cols, signed
    vec4 p2 = texelFetch(u_params, base + 2);   // V = v * rows, count
    vec4 p3 = texelFetch(u_params, base + 3);   // cols, rows, tile_h, tile_w
    vec2 uv = vec2(float(gl_VertexID & 1), float(gl_VertexID >> 1));
    vec3 world = p0.xyz + uv.x * p1.xyz + uv.y * p2.xyz;
    v_uv = uv;
    v_world = world;
    v_grid = p3;
    v_map = vec3(p0.w, p1.w, p2.w);
    v_per_tile = int(texelFetch(u_params, base + 4).x);
    gl_Position = u_view_proj * vec4(world, 1.0);
}
