# rn_bf16_normal_pos: bf16 storage model (u = 2^-8), normal positive range up to (2 - 2^-7) 2^127
# The per-operation model of --runtime any (modes/any.rs, rn/widen):
# |RN(v) - v| <= u*|v| + eta. proofs/check runs gappa -Bcoq on this file and compiles the
# certificate with coqc; the general proof for every format is Any.v (kulp_model, K = 0).
@rnd = float<8,-133,ne>;
{ v in [0x1p-126, 0x1.fep127] -> (rnd(v) - v) / v in [-0x1p-8, 0x1p-8] }
