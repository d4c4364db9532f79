#version 330 core
// Screen-space overlay quad; u_rect is (x0, y0, x1, y1) in NDC.
uniform vec4 u_rect;

out vec2 v_uv;

void main() {
    vec2 uv = vec2(float(gl_VertexID & 1), float(gl_VertexID >> 1));
    v_uv = vec2(uv.x, 1.0 - uv.y);   // texture row 0 is the top of the text image
    gl_Position = vec4(mix(u_rect.xy, u_rect.zw, uv), 0.0, 1.0);
}
