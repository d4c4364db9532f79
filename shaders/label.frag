#version 330 core
#include "common.glsl"

uniform sampler2D u_atlas;   // premultiplied RGBA text (white fill, dark outline)

in vec2 v_uv;
in vec4 v_color;
in vec3 v_world;

out vec4 frag_color;

void main() {
    vec4 t = texture(u_atlas, v_uv);
    float keep = v_color.a * (1.0 - fog_amount(v_world));
    frag_color = vec4(t.rgb * v_color.rgb, t.a) * keep;
}
