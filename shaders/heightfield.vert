#version 330 core
// The 2D field as a height field: an n x n grid of quads from gl_VertexID (6 vertices a quad),
// lifted by (p - 0.5) * u_height (0: a flat plane). Data x -> world x, data y -> world -z.
#include "field_common.glsl"

uniform sampler2D u_field;   // R: p(class of interest); G (more classes): argmax class id
uniform int u_grid;          // quads per side
uniform float u_height;      // world height of p = 1 above p = 0 (0: plane)

out vec2 v_uv;
out vec3 v_world;

const ivec2 CORNER[6] = ivec2[6](ivec2(0, 0), ivec2(1, 0), ivec2(0, 1), ivec2(0, 1), ivec2(1, 0), ivec2(1, 1));

void main() {
    int quad = gl_VertexID / 6;
    ivec2 cell = ivec2(quad % u_grid, quad / u_grid) + CORNER[gl_VertexID % 6];
    vec2 uv = vec2(cell) / float(u_grid);
    float p = textureLod(u_field, uv, 0.0).r;
    vec3 world = vec3(u_box_min.x + uv.x * u_box_size.x,
                      u_box_min.y + 0.5 * u_box_size.y + (p - 0.5) * u_height,
                      u_box_min.z + (1.0 - uv.y) * u_box_size.z);
    v_uv = uv;
    v_world = world;
    gl_Position = u_vp * vec4(world, 1.0);
}
