# rn_b32_normal_pos: binary32 (f32: u = 2^-24), normal positive range, relative error <= u
# The per-operation model of --runtime any (modes/any.rs, rn/widen):
# |RN(v) - v| <= u*|v| + eta. proofs/check runs gappa -Bcoq on this file and compiles the
# certificate with coqc; the general proof for every format is Any.v (kulp_model, K = 0).
@rnd = float<ieee_32,ne>;
{ v in [0x1p-126, 0x1.fffffep127] -> (rnd(v) - v) / v in [-0x1p-24, 0x1p-24] }
