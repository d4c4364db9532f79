// Shared by the decision-field programs (volume, heightfield, field points, field box).
// Their own uniforms (engine/render/passes/field.py), not the Frame block.

uniform mat4 u_vp;            // world -> clip
uniform vec3 u_eye;           // camera position, world
uniform vec3 u_box_min;       // world corner of the field box (data coordinate lo, lo, lo)
uniform vec3 u_box_size;      // world size of the box
uniform vec3 u_palette[10];   // class colours; binary: 0 orange, 1 blue (TensorFlow Playground)
uniform int u_classes;        // number of classes (2: channel R is p(class 1))
uniform int u_interest;       // class of interest (channel R is its probability)
uniform vec3 u_neutral;       // colour of p = 0.5

vec3 class_color(int c) {
    return u_palette[clamp(c, 0, 9)];
}

// Colour of a probability p of the class of interest: the other class's colour below 0.5,
// the class of interest's colour above, through a pale neutral at 0.5 (confidence = saturation).
vec3 prob_color(float p, int other) {
    float t = clamp(abs(p - 0.5) * 2.0, 0.0, 1.0);
    vec3 side = p >= 0.5 ? class_color(u_interest) : class_color(other);
    return mix(u_neutral, side, pow(t, 0.7));
}
