//! Tight mode (feature `mpfr`): the tightest floating-point enclosure.
//!
//! For every bound, the exact real value `v = β + γ(x−μ)/√(σ²+ε)` (with β = μ = 0 for
//! scale-only maps) is enclosed by interval arithmetic in MPFR, every operation rounded in
//! the outward direction, at precision `p`. If both ends of that enclosure round (down, for
//! a lower bound) to the same value of the output type, that value is the correctly
//! directed rounding of `v`: the largest `T ≤ v` (or the smallest `T ≥ v`). Otherwise `p`
//! doubles (Ziv's strategy). When `v` is itself a value of `T` the enclosure may never
//! decide; from 128 bits on, the candidate is therefore also tested with the exact rational
//! decision of [`crate::exact`], which settles that case. Before any of that, the sound f64
//! enclosure `L ≤ v ≤ U` of the fast path is rounded: when both ends round to the same
//! value of `T`, that is the answer (almost always, for `f32` outputs).

use crate::error::Side;
use crate::error::{Error, Result};
use crate::exact::{cmp_affine_params, cmp_offset_params, tightest, BiasSum};
use crate::layer::channel::image;
use crate::layer::channel::ChannelEnclosure;
use crate::layer::enclosure::Enclosure;
use crate::layer::params::BatchNorm;
use crate::num::float::Float;
use crate::tensor::TensorBox;
use crate::transfer::form::{sample_inner, AffineForm};
use rug::float::Round;
use rug::Float as Mp;
use std::borrow::Cow;
use std::cmp::Ordering;

/// An outward-rounded enclosure `[r_lo, r_hi]` of `√(σ² + ε)` at precision `prec`.
fn root(v: f64, e: f64, prec: u32) -> (Mp, Mp) {
    let vf = Mp::with_val(64, v); // exact: f64 fits in 64 bits
    let q_lo = Mp::with_val_round(prec, &vf + e, Round::Down).0;
    let q_hi = Mp::with_val_round(prec, &vf + e, Round::Up).0;
    (
        Mp::with_val_round(prec, q_lo.sqrt_ref(), Round::Down).0,
        Mp::with_val_round(prec, q_hi.sqrt_ref(), Round::Up).0,
    )
}

/// An outward-rounded MPFR enclosure `[lo, hi]` of `β + γ(x−μ)/√(σ²+ε)` at precision `p`,
/// given an enclosure `r` of `√(σ²+ε)` at precision `prec` ([`root`]).
fn enclose(p: crate::num::params::Params, x: f64, prec: u32, r: &(Mp, Mp)) -> (Mp, Mp) {
    let [g, b, m, _, _] = p.array();
    // Each operation is rounded down for the lower end and up for the upper end. Operands
    // must be *references*: rug evaluates `&a - m` lazily at the target precision with the
    // requested rounding, but `owned - m` immediately, rounded to nearest at the owned
    // value's precision (that silently dropped bits here once; a test caught it).
    let rnd = |f: &dyn Fn(Round) -> (Mp, Ordering)| (f(Round::Down).0, f(Round::Up).0);
    let xf = Mp::with_val(64, x); // exact: f64 fits in 64 bits
                                  // t = x − μ
    let (t_lo, t_hi) = rnd(&|r| Mp::with_val_round(prec, &xf - m, r));
    // u = γ·t
    let (u_lo, u_hi) = if g >= 0.0 {
        (
            Mp::with_val_round(prec, &t_lo * g, Round::Down).0,
            Mp::with_val_round(prec, &t_hi * g, Round::Up).0,
        )
    } else {
        (
            Mp::with_val_round(prec, &t_hi * g, Round::Down).0,
            Mp::with_val_round(prec, &t_lo * g, Round::Up).0,
        )
    };
    // r = √(σ² + ε) > 0
    let (r_lo, r_hi) = r;
    // w = u / r over r ∈ [r_lo, r_hi] > 0
    let w_lo = Mp::with_val_round(
        prec,
        &u_lo / if u_lo >= 0 { r_hi } else { r_lo },
        Round::Down,
    )
    .0;
    let w_hi = Mp::with_val_round(prec, &u_hi / if u_hi >= 0 { r_lo } else { r_hi }, Round::Up).0;
    // y = w + β
    (
        Mp::with_val_round(prec, &w_lo + b, Round::Down).0,
        Mp::with_val_round(prec, &w_hi + b, Round::Up).0,
    )
}

fn to_t<T: Float>(x: &Mp, round: Round) -> T {
    match T::DTYPE {
        crate::num::float::Dtype::F64 => T::from_f64_down_raw(x.to_f64_round(round)),
        // Exact: an f32 value converts exactly to f64.
        crate::num::float::Dtype::F32 => T::from_f64_down_raw(x.to_f32_round(round) as f64),
    }
}

/// Per-channel data shared by all elements: the 64-bit MPFR enclosure of `√(σ²+ε)` and
/// the fast-path enclosure of the scale and offset (the offset is ignored for scale-only
/// maps).
struct ChannelData {
    root64: (Mp, Mp),
    enc: ChannelEnclosure,
    with_offset: bool,
}

/// The largest `T ≤ v` (`lower`) or the smallest `T ≥ v`, for finite `x`.
///
/// First a cheap decision: `L ≤ v ≤ U` is the fast path's image of the point `x`
/// ([`image`]); if `L` and `U` round (in the bound's direction) to the same `T`, so does
/// `v`, by monotonicity. This settles almost every f32 bound. Otherwise MPFR.
fn tight_bound<T: Float>(
    p: crate::num::params::Params,
    x: f64,
    lower: bool,
    ch: &ChannelData,
) -> T {
    let (l, u) = if ch.with_offset {
        image::<true>(&ch.enc, x, x)
    } else {
        image::<false>(&ch.enc, x, x)
    };
    let (a, b): (T, T) = if lower {
        (T::from_f64_down_raw(l), T::from_f64_down_raw(u))
    } else {
        (T::from_f64_up_raw(l), T::from_f64_up_raw(u))
    };
    if a == b {
        return a;
    }
    let root64 = &ch.root64;
    let round = if lower { Round::Down } else { Round::Up };
    let mut prec = 64u32;
    loop {
        let (lo, hi) = if prec == 64 {
            enclose(p, x, prec, root64)
        } else {
            enclose(p, x, prec, &root(p.var, p.eps, prec))
        };
        let (a, b): (T, T) = (to_t(&lo, round), to_t(&hi, round));
        if a == b {
            return a;
        }
        if prec >= 128 {
            // v may be a value of T: then the enclosure can never decide, but the exact
            // decision can. For a lower bound b = RD(hi) ≥ RD(v); b is RD(v) iff b ≤ v.
            let c = if lower { b } else { a };
            if c.is_finite() {
                let o = cmp_affine_params(p, x, c.to_f64_raw());
                if o == Ordering::Equal
                    || (lower && o == Ordering::Less)
                    || (!lower && o == Ordering::Greater)
                {
                    return c;
                }
            }
        }
        prec *= 2;
    }
}

/// The tightest enclosure of `{ y(x) : x ∈ [l, h] }` for `y(x) = β + γ(x−μ)/√(σ²+ε)`.
fn tight_image<T: Float>(
    p: crate::num::params::Params,
    l: f64,
    h: f64,
    ch: &ChannelData,
) -> (T, T) {
    let g = p.gamma;
    if g == 0.0 {
        let beta = T::from_f64_down_raw(p.beta); // β is a value of T
        return (beta, beta);
    }
    let (at_min, at_max) = if g > 0.0 { (l, h) } else { (h, l) };
    // An infinite endpoint gives an infinite value with the sign of γ·x.
    let inf = |x: f64| {
        if (g > 0.0) == (x > 0.0) {
            T::infinity()
        } else {
            T::neg_infinity()
        }
    };
    let lo = if at_min.is_infinite() {
        inf(at_min)
    } else {
        tight_bound(p, at_min, true, ch)
    };
    let hi = if at_max.is_infinite() {
        inf(at_max)
    } else {
        tight_bound(p, at_max, false, ch)
    };
    (lo, hi)
}

/// [`ChannelData`] for every channel (`with_offset = false`: scale-only maps).
fn channel_data<T: Float>(
    bn: &BatchNorm<T>,
    enc: &Enclosure,
    with_offset: bool,
) -> Vec<ChannelData> {
    enc.iter()
        .enumerate()
        .map(|(c, enc)| {
            let p = bn.channel_f64(c);
            ChannelData {
                root64: root(p.var, p.eps, 64),
                enc,
                with_offset,
            }
        })
        .collect()
}

fn per_element<T: Float>(
    bn: &BatchNorm<T>,
    enc: &Enclosure,
    input: &TensorBox<T>,
    with_offset: bool,
) -> Result<TensorBox<T>> {
    let shape = *input.shape();
    if shape.channels() != bn.channels() {
        return Err(Error::ChannelMismatch {
            expected: bn.channels(),
            found: shape.channels(),
        });
    }
    let (mut lo, mut hi) = (
        Vec::with_capacity(shape.len()),
        Vec::with_capacity(shape.len()),
    );
    let data = channel_data(bn, enc, with_offset);
    for (i, (&l, &h)) in input.lo().iter().zip(input.hi()).enumerate() {
        let c = shape.channel_of(i);
        let mut p = bn.channel_f64(c);
        if !with_offset {
            p = p.scale_only();
        }
        let (a, b) = tight_image::<T>(p, l.to_f64_raw(), h.to_f64_raw(), &data[c]);
        lo.push(a);
        hi.push(b);
    }
    Ok(TensorBox::from_valid(shape, lo, hi))
}

/// Tight mode of one layer (feature `mpfr`), with the same operations as the fast mode
/// ([`crate::Enclosure`]) and the checker ([`crate::check::Checker`]): every bound is the
/// tightest value of `T` on its side of the exact real result. Get one with
/// [`BatchNorm::tight`].
///
/// ```
/// use bnbound::{BatchNorm, Shape, TensorBox};
/// let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![2.0], 0.0)?; // y = x/√2
/// let x = TensorBox::new(Shape::new(&[1])?, vec![1.0], vec![1.0])?;
/// let y = bn.tight().ibp(&x)?;
/// assert_eq!(y.lo()[0].next_up(), y.hi()[0]);
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Tight<'a, T: Float> {
    bn: &'a BatchNorm<T>,
    /// The layer's fast enclosure (starting points of the exact searches), computed once.
    enc: Cow<'a, Enclosure>,
}

impl<T: Float> BatchNorm<T> {
    /// Tight mode of this layer ([`Tight`]). Feature `mpfr`.
    ///
    /// ```
    /// let bn = bnbound::BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// let _tight = bn.tight();
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn tight(&self) -> Tight<'_, T> {
        let _env = crate::num::round::env::enter();
        Tight {
            bn: self,
            enc: Cow::Owned(self.enclose()),
        }
    }
}

impl<'a, T: Float> Tight<'a, T> {
    /// Tight mode of `bn` whose fast enclosure `enc` is already computed.
    pub(crate) fn with_enclosure(bn: &'a BatchNorm<T>, enc: &'a Enclosure) -> Self {
        Tight {
            bn,
            enc: Cow::Borrowed(enc),
        }
    }
}

impl<T: Float> Tight<'_, T> {
    /// IBP in tight mode: for every element, `lo` is the largest value of `T` that is `≤`
    /// the exact minimum of `{ s·x + o : x ∈ [l, h] }` and `hi` the smallest `≥` the exact
    /// maximum (the tightest floating-point enclosure).
    ///
    /// Errors: [`Error::ChannelMismatch`].
    ///
    /// ```
    /// use bnbound::{BatchNorm, Shape, TensorBox};
    /// // y = x/√2 at x = 1: the two f64 neighbours of 1/√2.
    /// let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![2.0], 0.0)?;
    /// let x = TensorBox::new(Shape::new(&[1])?, vec![1.0], vec![1.0])?;
    /// let y = bn.tight().ibp(&x)?;
    /// assert_eq!(y.lo()[0].next_up(), y.hi()[0]);
    /// // An exactly representable image is returned as a point.
    /// let bn = BatchNorm::new(vec![3.0f64], vec![-1.0], vec![0.5], vec![2.0], 0.25)?; // y = 2x − 2
    /// assert_eq!(bn.tight().ibp(&x)?.lo()[0], 0.0);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn ibp(&self, input: &TensorBox<T>) -> Result<TensorBox<T>> {
        let _env = crate::num::round::env::enter();
        per_element(self.bn, &self.enc, input, true)
    }

    /// Chain-rule derivative in tight mode: the tightest enclosure of `s_c·[dlo, dhi]`
    /// element-wise (first or second derivative alike).
    ///
    /// ```
    /// use bnbound::{BatchNorm, Shape, TensorBox};
    /// let bn = BatchNorm::new(vec![-1.0f32], vec![9.0], vec![9.0], vec![3.0], 0.0)?; // s = −1/√3
    /// let d = TensorBox::new(Shape::new(&[1])?, vec![1.0f32], vec![1.0])?;
    /// let y = bn.tight().derivative_chain(&d)?;
    /// assert_eq!(y.lo()[0].next_up(), y.hi()[0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn derivative_chain(&self, dbox: &TensorBox<T>) -> Result<TensorBox<T>> {
        let _env = crate::num::round::env::enter();
        per_element(self.bn, &self.enc, dbox, false)
    }

    /// Forward composition in tight mode: the tightest enclosures of `s_i·a_ij` over each
    /// `A_ij` and of `s_i·c_i + o_i` over each `c_i` (one row per channel).
    ///
    /// ```
    /// use bnbound::{AffineForm, BatchNorm};
    /// let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![4.0], 0.0)?; // s = 1/2
    /// let g = bn.tight().compose(&AffineForm::point(1, 2, vec![1.0, 3.0], vec![1.0])?)?;
    /// assert_eq!((g.a().lo(), g.a().hi(), g.c().lo()), (&[0.5, 1.5][..], &[0.5, 1.5][..], &[0.5][..]));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn compose(&self, form: &AffineForm<T>) -> Result<AffineForm<T>> {
        let _env = crate::num::round::env::enter();
        self.compose_shaped(form, &[self.bn.channels()])
    }

    /// [`Tight::compose`] for a per-sample input shape `[C, d1, …]`: row `r` belongs to
    /// channel `r / inner` (as in `Enclosure::compose_shaped`).
    ///
    /// ```
    /// use bnbound::{AffineForm, BatchNorm};
    /// let bn = BatchNorm::new(vec![1.0f64, 2.0], vec![0.0, 1.0], vec![0.0; 2], vec![4.0, 1.0], 0.0)?;
    /// let g = bn.tight().compose_shaped(&AffineForm::point(4, 1, vec![1.0; 4], vec![0.0; 4])?, &[2, 2])?;
    /// assert_eq!((g.a().lo(), g.c().lo()), (&[0.5, 0.5, 2.0, 2.0][..], &[0.0, 0.0, 1.0, 1.0][..]));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn compose_shaped(&self, form: &AffineForm<T>, sample: &[usize]) -> Result<AffineForm<T>> {
        let _env = crate::num::round::env::enter();
        let bn = self.bn;
        let inner = sample_inner(bn.channels(), sample, form.rows(), "rows")?;
        let cols = form.cols();
        let (alo, ahi) = scaled_entries(bn, &self.enc, form, |k| k / cols.max(1) / inner);
        let full = channel_data(bn, &self.enc, true);
        let (mut clo, mut chi) = (Vec::new(), Vec::new());
        for (i, (&l, &h)) in form.c().lo().iter().zip(form.c().hi()).enumerate() {
            let c = i / inner;
            let p = bn.channel_f64(c);
            let (a, b) = tight_image::<T>(p, l.to_f64_raw(), h.to_f64_raw(), &full[c]);
            clo.push(a);
            chi.push(b);
        }
        AffineForm::new(
            TensorBox::from_valid(*form.a().shape(), alo, ahi),
            TensorBox::from_valid(*form.c().shape(), clo, chi),
        )
    }

    /// Back-substitution in tight mode: `Λ'_ij` is the tightest enclosure of `Λ_ij·s_j`
    /// over each `Λ_ij`, and `d'_i` the tightest enclosure of the exact range of
    /// `d_i + Σ_j Λ_ij·o_j` (a sum of square roots, compared exactly with candidate floats
    /// by the checker's decision procedure, by bisection from the fast mode's bound).
    ///
    /// ```
    /// use bnbound::{AffineForm, BatchNorm};
    /// let bn = BatchNorm::new(vec![1.0f64; 2], vec![1.0; 2], vec![1.0; 2], vec![2.0; 2], 0.0)?;
    /// // d' = o₁ − o₂ = 0 exactly (the fast mode gives a few ulps around 0).
    /// let g = bn.tight().backward(&AffineForm::point(1, 2, vec![1.0, -1.0], vec![0.0])?)?;
    /// assert_eq!((g.c().lo()[0], g.c().hi()[0]), (0.0, 0.0));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn backward(&self, form: &AffineForm<T>) -> Result<AffineForm<T>> {
        let _env = crate::num::round::env::enter();
        self.backward_shaped(form, &[self.bn.channels()])
    }

    /// [`Tight::backward`] for a per-sample input shape `[C, d1, …]`: column `j` of `Λ`
    /// belongs to channel `j / inner` (as in `Enclosure::backward_shaped`).
    ///
    /// ```
    /// use bnbound::{AffineForm, BatchNorm};
    /// let bn = BatchNorm::new(vec![1.0f64, 2.0], vec![0.0, 1.0], vec![0.0; 2], vec![4.0, 1.0], 0.0)?;
    /// let g = bn.tight().backward_shaped(&AffineForm::point(1, 4, vec![1.0; 4], vec![0.0])?, &[2, 2])?;
    /// assert_eq!((g.a().lo(), g.c().lo()), (&[0.5, 0.5, 2.0, 2.0][..], &[2.0][..]));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn backward_shaped(&self, form: &AffineForm<T>, sample: &[usize]) -> Result<AffineForm<T>> {
        let _env = crate::num::round::env::enter();
        let bn = self.bn;
        let channels = bn.channels();
        let fast = self.enc.backward_shaped(form, sample)?;
        let inner = sample_inner(channels, sample, form.cols(), "columns")?;
        let cols = form.cols();
        let (alo, ahi) = scaled_entries(bn, &self.enc, form, |k| (k % cols) / inner);
        let params: Vec<crate::num::params::Params> =
            (0..channels).map(|c| bn.channel_f64(c)).collect();
        let signs: Vec<Ordering> = params
            .iter()
            .map(|&p| cmp_offset_params(p, 0.0).reverse())
            .collect();
        let (a, d) = (form.a(), form.c());
        let (mut dlo, mut dhi) = (Vec::new(), Vec::new());
        for i in 0..form.rows() {
            let row = i * cols..(i + 1) * cols;
            let (fl, fh) = (fast.c().lo()[i].to_f64_raw(), fast.c().hi()[i].to_f64_raw());
            let mut out = [fl, fh];
            for (k, side) in [Side::Lo, Side::Hi].into_iter().enumerate() {
                let lower = side == Side::Lo;
                let dv = if lower { d.lo()[i] } else { d.hi()[i] }.to_f64_raw();
                let mut sum = BiasSum::new(channels);
                let mut finite = dv.is_finite();
                for j in row.clone() {
                    let c = (j - i * cols) / inner;
                    let pick_lo = (signs[c] == Ordering::Greater) == lower;
                    let l = if pick_lo { a.lo()[j] } else { a.hi()[j] }.to_f64_raw();
                    if signs[c] != Ordering::Equal {
                        finite &= l.is_finite();
                        if l.is_finite() {
                            sum.add(l, c, params[c]);
                        }
                    }
                }
                if finite {
                    // cmp(y): y against the exact extreme E = dv + Σ λ·o.
                    let cmp = |y: f64| sum.signum_at(dv, y).reverse();
                    out[k] = tightest(fl, fh, cmp, side);
                }
            }
            // Both f64 bounds are the tightest f64; the tightest T lies outward of them.
            dlo.push(T::from_f64_down_raw(out[0]));
            dhi.push(T::from_f64_up_raw(out[1]));
        }
        AffineForm::new(
            TensorBox::from_valid(*form.a().shape(), alo, ahi),
            TensorBox::from_valid(*form.c().shape(), dlo, dhi),
        )
    }
}

/// The tightest enclosures of `s_c·a_k` over every entry `a_k` of the form's matrix, entry
/// `k` belonging to channel `channel(k)`.
fn scaled_entries<T: Float>(
    bn: &BatchNorm<T>,
    enc: &Enclosure,
    form: &AffineForm<T>,
    channel: impl Fn(usize) -> usize,
) -> (Vec<T>, Vec<T>) {
    let scaled = channel_data(bn, enc, false);
    let (mut alo, mut ahi) = (Vec::new(), Vec::new());
    for (k, (&l, &h)) in form.a().lo().iter().zip(form.a().hi()).enumerate() {
        let c = channel(k);
        let mut p = bn.channel_f64(c);
        p = p.scale_only();
        let (a, b) = tight_image::<T>(p, l.to_f64_raw(), h.to_f64_raw(), &scaled[c]);
        alo.push(a);
        ahi.push(b);
    }
    (alo, ahi)
}
