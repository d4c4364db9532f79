#version 330 core
// Near layers: one point sprite per neuron. No vertex buffer: vertex i is mosaic texel
// (col, row) = (i % cols, i / cols) and reads neuron neuron_index(col, row) from the layer's
// buffer texture (tensor order, as the forward pass wrote it). Padding texels are moved
// outside the clip volume.
#include "common.glsl"

uniform samplerBuffer u_params;
uniform int u_slab;
uniform samplerBuffer u_values;   // the layer's neurons in tensor order
uniform float u_max_point;   // GL_POINT_SIZE_RANGE max

out vec3 v_color;
out vec3 v_world;
out float v_size;          // disc diameter in pixels

void main() {
    int base = 5 * u_slab;
    vec4 p0 = texelFetch(u_params, base);
    vec4 p1 = texelFetch(u_params, base + 1);
    vec4 p2 = texelFetch(u_params, base + 2);
    vec4 p3 = texelFetch(u_params, base + 3);
    int per_tile = int(texelFetch(u_params, base + 4).x);
    int cols = int(p3.x);
    int col = gl_VertexID % cols;
    int row = gl_VertexID / cols;
    vec3 u = p1.xyz / p3.x;
    vec3 v = p2.xyz / p3.y;
    vec3 world = p0.xyz + (float(col) + 0.5) * u + (float(row) + 0.5) * v;
    gl_Position = u_view_proj * vec4(world, 1.0);
    int index = neuron_index(ivec2(col, row), cols, int(p3.z), int(p3.w), per_tile);
    if (index >= int(p2.w)) {
        gl_Position = vec4(2.0, 2.0, 2.0, 1.0);   // padding: clipped, costs nothing to raster
        gl_PointSize = 1.0;
        v_color = vec3(0.0); v_world = world; v_size = 1.0;
        return;
    }

    float value = has_flag(p1.w, 16) ? 0.0 : texelFetch(u_values, index).r;   // 16: no values yet
    v_color = value_color(value, p0.w, p1.w);
    v_world = world;

    // disc diameter in pixels; the sprite gets one pixel of margin for the antialiased rim
    float texel = min(length(u), length(v));
    float size = u_viewport.z * texel * u_viewport.w / max(gl_Position.w, 1e-6);
    v_size = clamp(size, 1.0, u_max_point - 1.0);
    gl_PointSize = v_size + 1.0;
}
