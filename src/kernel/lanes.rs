//! How a layer's channels are laid out for the kernels: each channel as the kernels read it
//! ([`Bounds`], through the [`Channel`] trait the layer's channel enclosure implements,
//! which also gives the scalar image the kernels fall back on), and the per-channel arrays
//! ([`Lanes`]) the row kernel and back-substitution read.

use std::cmp::Ordering;

/// One channel's enclosure as the kernels read it: `s ∈ [s_lo, s_hi]`, `o ∈ [o_lo, o_hi]`,
/// and the exact sign of `s` (`Less`: negative, `Equal`: zero, `Greater`: positive).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Bounds {
    pub(crate) s_lo: f64,
    pub(crate) s_hi: f64,
    pub(crate) o_lo: f64,
    pub(crate) o_hi: f64,
    pub(crate) sign: Ordering,
}

/// A channel's enclosure as the kernels see it (implemented by the layer's channel
/// enclosure): its [`Bounds`], and the scalar image of an interval, which handles what the
/// lanes do not (zero scale, infinite ends, `0·∞`, `∞ − ∞`).
pub(crate) trait Channel {
    /// The enclosures of the channel's scale and offset, with the scale's exact sign.
    fn bounds(&self) -> Bounds;

    /// Bounds of `{ s·x + o : x ∈ [l, h] }` (`OFFSET = false`: of `{ s·x }`) for the exact
    /// scale and offset, as `f64`. `l ≤ h`, not NaN, possibly infinite.
    fn image<const OFFSET: bool>(&self, l: f64, h: f64) -> (f64, f64);
}

/// Per-channel scale and offset endpoints as plain arrays (structure of arrays) for the row
/// kernel, with the channels the fast formula does not cover listed in `special` (their
/// array entries are harmless finite placeholders; their results are recomputed).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Lanes {
    pub(crate) s_lo: Vec<f64>,
    pub(crate) s_hi: Vec<f64>,
    pub(crate) o_lo: Vec<f64>,
    pub(crate) o_hi: Vec<f64>,
    /// Whether the scale is negative; `neg[j] ⇔ s_hi[j] < 0` (the AVX-512 kernel reads the
    /// sign from `s_hi`).
    pub(crate) neg: Vec<bool>,
    pub(crate) special: Vec<usize>,
    /// The offset `[o̲, ō]` used as a *scale* (back-substitution's `Σ Λ_ij·o_j`): channels
    /// whose offset has a known nonzero sign and finite ends; the others are in
    /// `q_special` and have `[0, 0]` here.
    pub(crate) q_lo: Vec<f64>,
    pub(crate) q_hi: Vec<f64>,
    /// `q_neg[j] ⇔ q_hi[j] < 0`, as for `neg`.
    pub(crate) q_neg: Vec<bool>,
    pub(crate) q_special: Vec<usize>,
}

/// Whether the block/row kernels may evaluate a channel (scale of known nonzero sign,
/// finite nonzero scale endpoints, finite offset): then no `0·∞` or `∞ − ∞` can occur.
pub(crate) fn is_fast(b: &Bounds) -> bool {
    let sign_ok = match b.sign {
        Ordering::Equal => false,
        Ordering::Greater => b.s_lo > 0.0,
        Ordering::Less => b.s_hi < 0.0,
    };
    sign_ok && b.s_lo.is_finite() && b.s_hi.is_finite() && b.o_lo.is_finite() && b.o_hi.is_finite()
}

impl Lanes {
    /// The arrays of scale `[s̲, s̄]` and offset `[o̲, ō]` per channel.
    pub(crate) fn new<C: Channel>(ch: &[C]) -> Self {
        let mut l = Lanes {
            s_lo: Vec::with_capacity(ch.len()),
            s_hi: Vec::with_capacity(ch.len()),
            o_lo: Vec::with_capacity(ch.len()),
            o_hi: Vec::with_capacity(ch.len()),
            neg: Vec::with_capacity(ch.len()),
            special: Vec::new(),
            q_lo: Vec::with_capacity(ch.len()),
            q_hi: Vec::with_capacity(ch.len()),
            q_neg: Vec::with_capacity(ch.len()),
            q_special: Vec::new(),
        };
        for (c, e) in ch.iter().enumerate() {
            let b = e.bounds();
            let fast = is_fast(&b);
            if !fast {
                l.special.push(c);
            }
            l.s_lo.push(if fast { b.s_lo } else { 1.0 });
            l.s_hi.push(if fast { b.s_hi } else { 1.0 });
            l.o_lo.push(if fast { b.o_lo } else { 0.0 });
            l.o_hi.push(if fast { b.o_hi } else { 0.0 });
            l.neg.push(fast && b.sign == Ordering::Less);
            let finite = b.o_lo.is_finite() && b.o_hi.is_finite();
            let q_fast = finite && (b.o_lo > 0.0 || b.o_hi < 0.0);
            if !q_fast {
                l.q_special.push(c);
            }
            l.q_lo.push(if q_fast { b.o_lo } else { 0.0 });
            l.q_hi.push(if q_fast { b.o_hi } else { 0.0 });
            l.q_neg.push(q_fast && b.o_hi < 0.0);
        }
        l
    }
}
