# rn_bf16_subnormal: bf16 below 2^-126, absolute error <= eta = 2^-134
# The per-operation model of --runtime any (modes/any.rs, rn/widen):
# |RN(v) - v| <= u*|v| + eta. proofs/check runs gappa -Bcoq on this file and compiles the
# certificate with coqc; the general proof for every format is Any.v (kulp_model, K = 0).
@rnd = float<8,-133,ne>;
{ |v| <= 0x1p-126 -> |rnd(v) - v| <= 0x1p-134 }
