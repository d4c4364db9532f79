#version 330 core
// Raymarch the 3D probability texture: front-to-back compositing of translucent isosurface
// shells at u_levels (0.5 = the decision boundary, the others confidence levels), each crossing
// found between two samples and refined linearly, shaded by the field's gradient. Bricks whose
// min/max range (u_bricks, with their neighbours') holds no level are crossed in one step.
#include "field_common.glsl"

uniform sampler3D u_volume;   // R: p(class of interest); G (more classes): argmax class id
uniform int u_steps;          // samples along the longest ray through the box
uniform vec4 u_levels;        // up to 4 iso levels (unused: < 0)
uniform vec4 u_alphas;        // opacity of each level's shell
uniform float u_res;          // texels per axis
uniform sampler3D u_bricks;   // RG: min, max of the field over each brick and its neighbours
uniform float u_brick;        // texels a side of a brick

in vec3 v_box;
out vec4 frag_color;

float field_at(vec3 p) { return texture(u_volume, p).r; }

vec3 gradient(vec3 p) {
    float h = 1.0 / u_res;
    return vec3(field_at(p + vec3(h, 0, 0)) - field_at(p - vec3(h, 0, 0)),
                field_at(p + vec3(0, h, 0)) - field_at(p - vec3(0, h, 0)),
                field_at(p + vec3(0, 0, h)) - field_at(p - vec3(0, 0, h)));
}

int other_class(vec3 p) {
    if (u_classes <= 2) return 1 - u_interest;
    int c = int(texelFetch(u_volume, ivec3(clamp(p, 0.0, 0.9999) * u_res), 0).g + 0.5);
    return c == u_interest ? (u_interest == 0 ? 1 : 0) : c;
}

bool holds_level(vec2 range) {
    for (int k = 0; k < 4; ++k) {
        float level = u_levels[k];
        if (level >= 0.0 && range.x <= level && level <= range.y) return true;
    }
    return false;
}

void main() {
    // ray in box coordinates: p(t) = eye + t * dir, t = 1 at this (back-face) fragment
    vec3 eye = (u_eye - u_box_min) / u_box_size;
    vec3 dir = v_box - eye;
    vec3 inv = 1.0 / (dir + vec3(equal(dir, vec3(0.0))) * 1e-7);
    vec3 t0 = -eye * inv, t1 = (vec3(1.0) - eye) * inv;
    vec3 tmin = min(t0, t1), tmax = max(t0, t1);
    float t_near = max(max(max(tmin.x, tmin.y), tmin.z), 0.0);
    float t_far = min(min(tmax.x, tmax.y), tmax.z);
    if (t_far <= t_near) discard;

    float dt = 1.7320508 / (float(u_steps) * length(dir));   // fixed step length in box units
    vec3 ray_w = normalize(dir * u_box_size);                 // world direction, for shading
    vec3 light = normalize(vec3(-0.4, 0.8, 0.45));
    vec4 acc = vec4(0.0);
    float prev = field_at(eye + dir * t_near);
    float t = t_near;
    ivec3 checked = ivec3(-1);                                    // the brick last found to hold a level
    for (int i = 0; i < 1024; ++i) {
        vec3 here = eye + dir * t;
        ivec3 cell = ivec3(clamp(here, 0.0, 0.99999) * (u_res / u_brick));
        if (cell != checked && !holds_level(texelFetch(u_bricks, cell, 0).rg)) {   // no shell here: to its far side
            vec3 lo = vec3(cell) * (u_brick / u_res), hi = min(lo + u_brick / u_res, vec3(1.0));
            vec3 ta = (lo - eye) * inv, tb = (hi - eye) * inv;
            vec3 exits = max(ta, tb);
            float t_exit = min(min(exits.x, exits.y), exits.z);
            t = min(max(t_exit + 1e-4 * dt, t + 1e-4 * dt), t_far);
            prev = field_at(eye + dir * t);
            if (t >= t_far) break;
            continue;
        }
        checked = cell;
        float t_prev = t;
        t = min(t + dt, t_far);
        float v = field_at(eye + dir * t);
        for (int k = 0; k < 4; ++k) {
            float level = u_levels[k];
            if (level < 0.0 || (prev - level) * (v - level) > 0.0 || prev == v) continue;
            float f = clamp((level - prev) / (v - prev), 0.0, 1.0);
            vec3 hit = eye + dir * mix(t_prev, t, f);
            vec3 g = gradient(hit) / u_box_size;
            vec3 n = length(g) > 1e-7 ? normalize(g) : -ray_w;
            float diffuse = abs(dot(n, light));
            float facing = abs(dot(n, ray_w));
            vec3 base = level == 0.5 ? vec3(0.97, 0.97, 0.94) : prob_color(level, other_class(hit));
            vec3 color = base * (0.30 + 0.70 * diffuse) + vec3(0.22) * pow(1.0 - facing, 3.0);
            float a = u_alphas[k] * (0.6 + 0.4 * (1.0 - facing));
            acc.rgb += (1.0 - acc.a) * a * color;
            acc.a += (1.0 - acc.a) * a;
        }
        prev = v;
        if (acc.a > 0.97 || t >= t_far) break;
    }
    if (acc.a <= 0.0) discard;
    frag_color = acc;    // premultiplied alpha: blend with (ONE, ONE_MINUS_SRC_ALPHA)
}
