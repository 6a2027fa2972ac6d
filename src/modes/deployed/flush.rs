//! The flush-to-zero model (x86 MXCSR FTZ + DAZ: `torch.set_flush_denormal(True)`, code
//! built with `-ffast-math`, any host that sets them in the runtime's thread). Every
//! operation of a replayed recipe may read an operand that is subnormal as itself or as a
//! zero of its sign (DAZ), and may return, for a result whose rounded magnitude is at most
//! the least normal, that result or a zero of its sign (FTZ: x86 decides tininess after
//! rounding with an unbounded exponent, so a result that rounds to ±least normal can still
//! be flushed). Each choice is independent, so the model contains the runtime with the flags
//! off, on, or changed mid-run. A point input gives a small finite set of outputs; its
//! least and greatest are monotone in `x` (each operation's least and greatest choice is a
//! monotone function of the exact result, and a subnormal operand's too), so the endpoint
//! argument still holds.

use crate::num::float::Float;

/// A zero with the sign of `y`.
fn zero_of<T: Float>(y: T) -> T {
    if y.is_sign_negative() {
        -T::zero()
    } else {
        T::zero()
    }
}

/// Whether `x` is subnormal (nonzero, below the least normal).
pub(crate) fn subnormal<T: Float>(x: T) -> bool {
    x != T::zero() && x.abs() < T::min_positive_value()
}

/// Whether a rounded result `y` may be flushed (nonzero, at most the least normal).
pub(crate) fn tiny<T: Float>(y: T) -> bool {
    y != T::zero() && y.abs() <= T::min_positive_value()
}

fn push<T: Float>(out: &mut Vec<T>, y: T) {
    let same = |z: &T| {
        (y.is_nan() && z.is_nan()) || (*z == y && z.is_sign_negative() == y.is_sign_negative())
    };
    if !out.iter().any(same) {
        out.push(y);
    }
}

/// The values an operation may read for the operands `a`.
pub(crate) fn reads<T: Float>(a: &[T]) -> Vec<T> {
    let mut out = Vec::with_capacity(a.len() * 2);
    for &x in a {
        push(&mut out, x);
        if subnormal(x) {
            push(&mut out, zero_of(x));
        }
    }
    out
}

/// The results an operation may return for the rounded result `y`, after `post` (the
/// rounding to a storage type, which does not flush: conversions are integer code or
/// F16C, which ignores FTZ).
fn results<T: Float>(out: &mut Vec<T>, y: T, post: &dyn Fn(T) -> T) {
    push(out, post(y));
    if tiny(y) {
        push(out, post(zero_of(y)));
    }
}

/// Every result of the rounded unary operation `f` on the values `a`.
pub(crate) fn op1<T: Float>(a: &[T], f: impl Fn(T) -> T, post: &dyn Fn(T) -> T) -> Vec<T> {
    let mut out = Vec::new();
    for x in reads(a) {
        results(&mut out, f(x), post);
    }
    out
}

/// Every result of the rounded binary operation `f` on the values `a`, `b`.
pub(crate) fn op2<T: Float>(
    a: &[T],
    b: &[T],
    f: impl Fn(T, T) -> T,
    post: &dyn Fn(T) -> T,
) -> Vec<T> {
    let mut out = Vec::new();
    let rb = reads(b);
    for x in reads(a) {
        for &y in &rb {
            results(&mut out, f(x, y), post);
        }
    }
    out
}

/// Every result of the fused `a·b + c`.
pub(crate) fn fma<T: Float>(a: &[T], b: &[T], c: &[T]) -> Vec<T> {
    let mut out = Vec::new();
    let (rb, rc) = (reads(b), reads(c));
    for x in reads(a) {
        for &y in &rb {
            for &z in &rc {
                results(&mut out, x.mul_add(y, z), &|v| v);
            }
        }
    }
    out
}

/// The identity `post`.
pub(crate) fn id<T: Float>(y: T) -> T {
    y
}
