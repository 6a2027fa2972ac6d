//! Tight mode (the library's `Tight`, MPFR through rug) when built with `--features mpfr`.

#[cfg(feature = "mpfr")]
mod imp {
    use bnbound::{AffineForm, BatchNorm, Float, Result, TensorBox};

    pub(crate) const AVAILABLE: bool = true;

    pub(crate) fn ibp<T: Float>(bn: &BatchNorm<T>, x: &TensorBox<T>) -> Result<TensorBox<T>> {
        bn.tight().ibp(x)
    }

    pub(crate) fn derivative_chain<T: Float>(
        bn: &BatchNorm<T>,
        d: &TensorBox<T>,
    ) -> Result<TensorBox<T>> {
        bn.tight().derivative_chain(d)
    }

    pub(crate) fn compose_shaped<T: Float>(
        bn: &BatchNorm<T>,
        f: &AffineForm<T>,
        sample: &[usize],
    ) -> Result<AffineForm<T>> {
        bn.tight().compose_shaped(f, sample)
    }

    pub(crate) fn backward_shaped<T: Float>(
        bn: &BatchNorm<T>,
        f: &AffineForm<T>,
        sample: &[usize],
    ) -> Result<AffineForm<T>> {
        bn.tight().backward_shaped(f, sample)
    }
}

#[cfg(not(feature = "mpfr"))]
mod imp {
    //! Without MPFR, `Enclosure` refuses `mode="tight"` (`MISSING`) before any of these
    //! can be reached; they return the library's typed error all the same.
    use bnbound::{AffineForm, BatchNorm, Error, Float, Result, TensorBox};

    pub(crate) const AVAILABLE: bool = false;

    fn missing<R>() -> Result<R> {
        Err(Error::NotDecidable(super::MISSING))
    }

    pub(crate) fn ibp<T: Float>(_: &BatchNorm<T>, _: &TensorBox<T>) -> Result<TensorBox<T>> {
        missing()
    }

    pub(crate) fn derivative_chain<T: Float>(
        _: &BatchNorm<T>,
        _: &TensorBox<T>,
    ) -> Result<TensorBox<T>> {
        missing()
    }

    pub(crate) fn compose_shaped<T: Float>(
        _: &BatchNorm<T>,
        _: &AffineForm<T>,
        _: &[usize],
    ) -> Result<AffineForm<T>> {
        missing()
    }

    pub(crate) fn backward_shaped<T: Float>(
        _: &BatchNorm<T>,
        _: &AffineForm<T>,
        _: &[usize],
    ) -> Result<AffineForm<T>> {
        missing()
    }
}

pub(crate) use imp::*;

/// The message when tight mode is asked of a build without MPFR.
pub(crate) const MISSING: &str = "mode=\"tight\" needs bnbound built with MPFR: pip install \
     ./python --config-settings=build-args=\"--features mpfr\" (needs m4; builds GMP once)";
