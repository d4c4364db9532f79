#version 330 core
// The field's box as 36 vertices from gl_VertexID (no vertex buffer); drawn with front faces
// culled, so every covered pixel runs the raymarch once, also with the camera inside the box.
#include "field_common.glsl"

out vec3 v_box;      // position in box coordinates [0, 1]^3

const int FACES[36] = int[36](0, 2, 1, 1, 2, 3,  4, 5, 6, 5, 7, 6,  0, 1, 4, 1, 5, 4,
                              2, 6, 3, 3, 6, 7,  0, 4, 2, 2, 4, 6,  1, 3, 5, 3, 7, 5);

void main() {
    int c = FACES[gl_VertexID];
    vec3 corner = vec3(float(c & 1), float((c >> 1) & 1), float((c >> 2) & 1));
    v_box = corner;
    gl_Position = u_vp * vec4(u_box_min + corner * u_box_size, 1.0);
}
