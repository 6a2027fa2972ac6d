//! Composition of affine forms with BatchNorm (forward) and CROWN-style back-substitution
//! (backward), flat or CNN-shaped. The forms themselves are in `transfer::form`.

use crate::error::Result;
use crate::kernel::loops::{self, BlockSumJob, MapJob, OffsetDotJob, PointRowsJob};
use crate::layer::channel::image;
use crate::layer::enclosure::Enclosure;
use crate::num::float::Float;
use crate::tensor::TensorBox;
use crate::transfer::form::{sample_inner, AffineForm, LinearBounds};

impl Enclosure {
    /// Bounds of `Σ_c [lo_c, hi_c]·o_c + [d_lo, d_hi]` over the channels.
    fn offset_dot<U: Float>(&self, lo: &[U], hi: &[U], d_lo: f64, d_hi: f64) -> (f64, f64) {
        loops::dispatch(
            self.kernel(),
            OffsetDotJob::new(self.laid_out(), (lo, hi), d_lo, d_hi),
        )
    }

    /// The coefficient matrix of `form` with every element `(i, j)` multiplied by the scale
    /// of channel `(i·cols + j) / inner mod C`, through the dispatched kernel.
    fn scale_map<T: Float>(&self, form: &AffineForm<T>, inner: usize) -> (Vec<T>, Vec<T>) {
        let n = form.rows() * form.cols();
        let (mut alo, mut ahi) = (vec![T::zero(); n], vec![T::zero(); n]);
        let job = MapJob::<T, false, _>::new(
            self.laid_out(),
            inner,
            0,
            (form.a().lo(), form.a().hi()),
            (&mut alo, &mut ahi),
        );
        loops::dispatch(self.kernel(), job);
        (alo, ahi)
    }

    /// Forward composition: for a form `A·x + c` with one row per channel (`rows = C`),
    /// returns the form `diag(s)·A·x + (s∘c + o)` as intervals that contain `s_i·a_ij` and
    /// `s_i·c_i + o_i` for every real `a_ij ∈ A_ij`, `c_i ∈ c_i`, with the exact real scale
    /// and offset of each channel. Shape is kept. Errors: [`Error::ChannelMismatch`](crate::Error::ChannelMismatch).
    ///
    /// ```
    /// use bnbound::{AffineForm, BatchNorm};
    /// let bn = BatchNorm::new(vec![2.0f64], vec![1.0], vec![0.0], vec![4.0], 0.0)?; // y = x + 1
    /// let f = AffineForm::point(1, 2, vec![3.0, -0.5], vec![0.25])?;
    /// let g = bn.enclose().compose(&f)?;
    /// assert_eq!((g.a().lo(), g.a().hi()), (&[3.0, -0.5][..], &[3.0, -0.5][..]));
    /// assert!(g.c().lo()[0] <= 1.25 && 1.25 <= g.c().hi()[0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn compose<T: Float>(&self, form: &AffineForm<T>) -> Result<AffineForm<T>> {
        let _env = crate::num::round::env::enter();
        self.compose_shaped(form, &[self.channels()])
    }

    /// [`Enclosure::compose`] for a layer whose per-sample input has shape `sample =
    /// [C, d1, …]` (1 to 4 trailing dims, channel first, row-major; `[C]` is `compose`):
    /// the form has `C·inner` rows (`inner = d1·…`), row `r` belonging to channel
    /// `r / inner`. Returns intervals containing `s_c·a_rj` and `s_c·c_r + o_c` for every
    /// real `a_rj ∈ A_rj`, `c_r ∈ c_r`. This is CROWN's forward form through a
    /// BatchNorm2d over `(C, H, W)`.
    ///
    /// Errors: [`Error::ChannelMismatch`](crate::Error::ChannelMismatch) (`sample[0] ≠ C`), [`Error::BadRank`](crate::Error::BadRank),
    /// [`Error::ShapeOverflow`](crate::Error::ShapeOverflow), [`Error::FormShape`](crate::Error::FormShape) (rows ≠ `C·inner`).
    ///
    /// ```
    /// use bnbound::{AffineForm, BatchNorm};
    /// // Two channels over 2 positions: s = (0.5, 2), o = (0, 1).
    /// let bn = BatchNorm::new(vec![1.0f64, 2.0], vec![0.0, 1.0], vec![0.0; 2], vec![4.0, 1.0], 0.0)?;
    /// let f = AffineForm::point(4, 1, vec![1.0; 4], vec![0.0; 4])?;
    /// let g = bn.enclose().compose_shaped(&f, &[2, 2])?;
    /// assert_eq!(g.a().lo(), &[0.5, 0.5, 2.0, 2.0]);
    /// assert_eq!(g.c().lo(), &[0.0, 0.0, 1.0, 1.0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn compose_shaped<T: Float>(
        &self,
        form: &AffineForm<T>,
        sample: &[usize],
    ) -> Result<AffineForm<T>> {
        let _env = crate::num::round::env::enter();
        let inner = sample_inner(self.channels(), sample, form.rows(), "rows")?;
        let (rows, cols) = (form.rows(), form.cols());
        let (alo, ahi) = self.scale_map(form, cols * inner);
        let (mut clo, mut chi) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
        for i in 0..rows {
            let (l, h) = (form.c().lo()[i], form.c().hi()[i]);
            let (l, h) = image::<true>(
                &self.channel_slice()[i / inner],
                l.to_f64_raw(),
                h.to_f64_raw(),
            );
            clo.push(T::from_f64_down_raw(l));
            chi.push(T::from_f64_up_raw(h));
        }
        Ok(AffineForm::from_valid(
            TensorBox::from_valid(*form.a().shape(), alo, ahi),
            TensorBox::from_valid(*form.c().shape(), clo, chi),
        ))
    }

    /// Back-substitution (CROWN / auto_LiRPA backward mode): for a linear function of the
    /// BatchNorm output `Λ·y + d` (`Λ`: `k × C`, so `form.cols() = C`), returns the function
    /// of the BatchNorm input `Λ'·x + d'` with `Λ'_ij ∋ Λ_ij·s_j` and
    /// `d'_i ∋ Σ_j Λ_ij·o_j + d_i` for all real `Λ_ij ∈ Λ_ij`, `d_i ∈ d_i` and the exact
    /// scales and offsets. The sum is bounded rigorously (every product and partial sum
    /// rounded outward). So `Λ·BN(x) + d ∈ Λ'·x + d'` for every real `x`.
    /// Errors: [`Error::ChannelMismatch`](crate::Error::ChannelMismatch).
    ///
    /// ```
    /// use bnbound::{AffineForm, BatchNorm};
    /// let bn = BatchNorm::new(vec![2.0f64, -1.0], vec![1.0, 0.0], vec![0.0, 1.0], vec![4.0, 1.0], 0.0)?;
    /// // s = (1, −1), o = (1, 1); Λ = [1, 2], d = 0: Λ' = [1, −2], d' = 1 + 2 = 3.
    /// let g = bn.enclose().backward(&AffineForm::point(1, 2, vec![1.0, 2.0], vec![0.0])?)?;
    /// assert_eq!(g.a().lo(), &[1.0, -2.0]);
    /// assert_eq!((g.c().lo()[0], g.c().hi()[0]), (3.0, 3.0));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn backward<T: Float>(&self, form: &AffineForm<T>) -> Result<AffineForm<T>> {
        let _env = crate::num::round::env::enter();
        self.backward_shaped(form, &[self.channels()])
    }

    /// Back-substitution of point coefficients in one pass per row (the path
    /// `Bounds::backward_batch` takes when it applies): `lam` holds rows of `n = C·inner`
    /// columns, row `r` over box `b = r mod B`; `xmax[b·C + k] ≥ |x_j|` over run `k` (channel
    /// `k`'s `inner` elements) of box `b`, and, if given, `extra[b·C + k]` holds every
    /// `δ_j` of that run (a runtime's distance to the real map). Returns `M` and constants
    /// with, for every `x` of box `b`, every real `s_c`, `o_c` of the channels and `δ_j`,
    ///
    /// `M_r·x + lower_r ≤ Σ_j λ_rj·(s_c·x_j + o_c + δ_j) ≤ M_r·x + upper_r`,
    ///
    /// in exact arithmetic. `M_rj = RN(λ_rj·m_c)` for a float `m_c` near `s_c`, so by
    /// [`round::nearest_product_slack`] `|λ_rj·s_c − M_rj| ≤ |λ_rj|·κ_c + η`; hence the
    /// constants are `Σ_j λ_rj·[q̲_j, q̄_j] ∓ η·Σ_j |x_j|` with `q̲_j = o̲_c + δ̲ − κ_c·xmax`,
    /// `q̄_j = ō_c + δ̄ + κ_c·xmax` (the lower bound takes `q̲_j` where `λ_rj ≥ 0` and `q̄_j`
    /// where it is negative), every operation rounded outward. `None` where that does not
    /// apply: a scale, offset, `xmax` or `δ` end that is not finite, or an `M` that overflows
    /// (the caller then takes the interval path), and for `f64` rows (see the body).
    pub(crate) fn backward_points<T: Float>(
        &self,
        lam: &[T],
        (n, inner): (usize, usize),
        xmax: &[f64],
        extra: Option<&[(f64, f64)]>,
    ) -> Option<LinearBounds<T>> {
        use crate::num::round::{add_down, add_up, mul_up, nearest_product_slack};
        let c = self.channels();
        // `f64` rows stay on the interval path: there the offsets' products with each `λ`
        // would be rounded once per element rather than once per channel (`f64` constants
        // a median 1.8–4.7× wider, all within 1e-13 relative), while `f32` constants
        // round to `f32` ulps, against which the `f64` sums' errors vanish.
        if T::DTYPE != crate::num::float::Dtype::F32
            || inner == 0
            || n != c * inner
            || xmax.is_empty()
            || !xmax.len().is_multiple_of(c)
            || xmax.iter().any(|v| !v.is_finite())
        {
            // (An infinite end would make η·Σ|x| infinite even where κ_c = 0 — a zero
            // scale — whose row the interval path bounds finitely.)
            return None;
        }
        let boxes = xmax.len() / c;
        let u = T::epsilon().to_f64_raw() / 2.0;
        let eta = T::zero().step_up().to_f64_raw();
        // Per channel: the multiplier m_c (any float; here the one below the scale
        // enclosure's midpoint) and κ_c.
        let mut m = Vec::with_capacity(c);
        let mut kappa = Vec::with_capacity(c);
        for k in 0..c {
            let s = self.channel(k).scale();
            let mk = T::from_f64_down_raw(s.lo() / 2.0 + s.hi() / 2.0);
            let kk = nearest_product_slack(mk.to_f64_raw(), s.lo(), s.hi(), u);
            if !(mk.is_finite() && kk.is_finite()) {
                return None;
            }
            m.push(mk);
            kappa.push(kk);
        }
        let m_col: Vec<T> = m
            .iter()
            .flat_map(|&v| std::iter::repeat_n(v, inner))
            .collect();
        // Per box: the ends q̲, q̄ of every column and η·Σ|x_j|.
        let (mut q_lo, mut q_hi) = (Vec::with_capacity(boxes * n), Vec::with_capacity(boxes * n));
        let mut slack = Vec::with_capacity(boxes);
        for b in 0..boxes {
            let mut total = 0.0f64;
            for (k, &kk) in kappa.iter().enumerate() {
                let run = b * c + k;
                let o = self.channel(k).offset();
                let (dl, dh) = extra.map_or((0.0, 0.0), |e| e[run]);
                let t = mul_up(kk, xmax[run]);
                let lo = add_down(add_down(o.lo(), dl), -t);
                let hi = add_up(add_up(o.hi(), dh), t);
                if !(lo.is_finite() && hi.is_finite()) {
                    return None;
                }
                q_lo.extend(std::iter::repeat_n(lo, inner));
                q_hi.extend(std::iter::repeat_n(hi, inner));
                total = add_up(total, mul_up(xmax[run], inner as f64));
            }
            slack.push(mul_up(total, eta));
        }
        let rows = lam.len() / n;
        let mut coef = vec![T::zero(); rows * n];
        let (mut lo, mut hi) = (vec![0.0f64; rows], vec![0.0f64; rows]);
        let job = PointRowsJob::new(
            n,
            (lam, &m_col),
            [&q_lo, &q_hi],
            &mut coef,
            (&mut lo, &mut hi),
        );
        if !loops::dispatch(self.kernel(), job) {
            return None;
        }
        let lower = lo
            .iter()
            .enumerate()
            .map(|(r, &v)| T::from_f64_down_raw(add_down(v, -slack[r % boxes])))
            .collect();
        let upper = hi
            .iter()
            .enumerate()
            .map(|(r, &v)| T::from_f64_up_raw(add_up(v, slack[r % boxes])))
            .collect();
        Some(LinearBounds::from_parts(n, coef, lower, upper))
    }

    /// [`Enclosure::backward`] for a layer whose per-sample input has shape `sample =
    /// [C, d1, …]` (1 to 4 trailing dims, channel first, row-major; `[C]` is `backward`):
    /// `Λ` has `C·inner` columns, column `j` belonging to channel `j / inner` (CROWN's `Λ`
    /// of shape `k × (C·H·W)` for a BatchNorm2d). Returns `Λ'_ij ∋ Λ_ij·s_c` and
    /// `d'_i ∋ Σ_j Λ_ij·o_c + d_i` for all real `Λ_ij ∈ Λ_ij`, `d_i ∈ d_i`: each channel's
    /// coefficients are summed outward first (`Σ_j Λ_ij·o_c = o_c·Σ_j Λ_ij`), then the
    /// `C` products with the offsets.
    ///
    /// Errors: [`Error::ChannelMismatch`](crate::Error::ChannelMismatch) (`sample[0] ≠ C`), [`Error::BadRank`](crate::Error::BadRank),
    /// [`Error::ShapeOverflow`](crate::Error::ShapeOverflow), [`Error::FormShape`](crate::Error::FormShape) (columns ≠ `C·inner`).
    ///
    /// ```
    /// use bnbound::{AffineForm, BatchNorm};
    /// // s = (0.5, 2), o = (0, 1) over 2 positions; Λ = [1, 1, 1, 1], d = 0.
    /// let bn = BatchNorm::new(vec![1.0f64, 2.0], vec![0.0, 1.0], vec![0.0; 2], vec![4.0, 1.0], 0.0)?;
    /// let lam = AffineForm::point(1, 4, vec![1.0; 4], vec![0.0])?;
    /// let g = bn.enclose().backward_shaped(&lam, &[2, 2])?;
    /// assert_eq!(g.a().lo(), &[0.5, 0.5, 2.0, 2.0]);
    /// assert_eq!((g.c().lo()[0], g.c().hi()[0]), (2.0, 2.0)); // 0·2 + 1·2
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn backward_shaped<T: Float>(
        &self,
        form: &AffineForm<T>,
        sample: &[usize],
    ) -> Result<AffineForm<T>> {
        let _env = crate::num::round::env::enter();
        let inner = sample_inner(self.channels(), sample, form.cols(), "columns")?;
        let (rows, cols) = (form.rows(), form.cols());
        // Λ·diag(s): element (i, j) belongs to channel j / inner: blocks of length inner.
        let (alo, ahi) = self.scale_map(form, inner);
        let (mut dlo, mut dhi) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
        let c = self.channels();
        let (mut s_lo, mut s_hi) = (vec![0.0f64; c], vec![0.0f64; c]);
        for i in 0..rows {
            let row = i * cols..(i + 1) * cols;
            let (d_lo, d_hi) = (form.c().lo()[i].to_f64_raw(), form.c().hi()[i].to_f64_raw());
            let (l, h) = if inner == 1 {
                self.offset_dot(&form.a().lo()[row.clone()], &form.a().hi()[row], d_lo, d_hi)
            } else {
                let row_hi = &form.a().hi()[row.clone()];
                let job =
                    BlockSumJob::new(inner, (&form.a().lo()[row], row_hi), (&mut s_lo, &mut s_hi));
                loops::dispatch(self.kernel(), job);
                self.offset_dot(&s_lo, &s_hi, d_lo, d_hi)
            };
            dlo.push(T::from_f64_down_raw(l));
            dhi.push(T::from_f64_up_raw(h));
        }
        Ok(AffineForm::from_valid(
            TensorBox::from_valid(*form.a().shape(), alo, ahi),
            TensorBox::from_valid(*form.c().shape(), dlo, dhi),
        ))
    }
}
