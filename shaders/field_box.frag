#version 330 core
// Faint box outline (premultiplied alpha).
uniform vec3 u_color;

out vec4 frag_color;

void main() {
    frag_color = vec4(u_color * 0.45, 0.45);
}
