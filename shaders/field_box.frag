#version 330 core
// Faint box outline (premultiplied alpha).
out vec4 frag_color;

void main() {
    frag_color = vec4(vec3(0.55, 0.6, 0.7) * 0.45, 0.45);
}
