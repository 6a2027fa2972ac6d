# rn_f16_normal_pos: f16 storage model (Model::storage, u = 2^-11), normal positive range up to 65504
# The per-operation model of --runtime any (modes/any.rs, rn/widen):
# |RN(v) - v| <= u*|v| + eta. proofs/check runs gappa -Bcoq on this file and compiles the
# certificate with coqc; the general proof for every format is Any.v (kulp_model, K = 0).
@rnd = float<11,-24,ne>;
{ v in [0x1p-14, 65504] -> (rnd(v) - v) / v in [-0x1p-11, 0x1p-11] }
