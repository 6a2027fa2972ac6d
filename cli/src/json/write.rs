//! Writing output boxes, forms and checker reports: shortest round-trip decimals of the
//! dtype, `"inf"`/`"-inf"` for infinities, streamed.

use super::FormKind;
use bnbound::{AffineForm, Dtype, Float, TensorBox};
use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};
use std::io::Write;

/// Writes a checker report: `{"sound": bool, "checked": n, "unsound": k,
/// "unsound_elements": e, "violations": [{"index": i, "side": "lo"|"hi", "witness": x,
/// "excess": "decimal"}]}` (with `with_source`, each violation also has `"source": "real"`
/// or the runtime's name), where `k` counts every unsound bound, `e ≤ n` the elements with
/// one, and at most the first `limit` violations are listed;
/// witnesses are numbers of `T` (or `"inf"`/`"-inf"`).
///
/// ```
/// use bnbound::{check, BatchNorm, Shape, TensorBox};
/// let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![4.0], 0.0)?; // y = x/2
/// let x = TensorBox::new(Shape::new(&[1])?, vec![1.0f32], vec![1.0])?;
/// let claimed = TensorBox::new(Shape::new(&[1])?, vec![0.25f32], vec![0.25])?;
/// let mut out = Vec::new();
/// bnbound_cli::json::write_report::<f32, _>(&bn.checker().ibp(&x, &claimed)?, 100, false, &mut out).unwrap();
/// assert_eq!(String::from_utf8(out).unwrap(), "{\"sound\":false,\"checked\":1,\"unsound\":1,\"unsound_elements\":1,\"violations\":\
/// [{\"index\":0,\"side\":\"hi\",\"witness\":1.0,\"excess\":\"2.5e-1\"}]}\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_report<T: Float, W: Write>(
    r: &bnbound::check::CheckReport,
    limit: usize,
    with_source: bool,
    mut w: W,
) -> std::io::Result<()> {
    struct V<'a, T>(
        &'a bnbound::check::Violation,
        bool,
        std::marker::PhantomData<T>,
    );
    impl<T: Float> Serialize for V<'_, T> {
        fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            let mut st = s.serialize_struct("Violation", 5)?;
            st.serialize_field("index", &self.0.index)?;
            st.serialize_field("side", &self.0.side.to_string())?;
            st.serialize_field("witness", &Num(T::from_f64_down(self.0.witness)))?;
            st.serialize_field("excess", &self.0.excess.to_string())?;
            if self.1 {
                let source = match self.0.source {
                    bnbound::check::Source::Real => "real".to_string(),
                    bnbound::check::Source::Runtime(rt) => rt.to_string(),
                };
                st.serialize_field("source", &source)?;
            }
            st.end()
        }
    }
    struct R<'a, T>(
        &'a bnbound::check::CheckReport,
        usize,
        bool,
        std::marker::PhantomData<T>,
    );
    impl<T: Float> Serialize for R<'_, T> {
        fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            let mut st = s.serialize_struct("Report", 5)?;
            st.serialize_field("sound", &self.0.sound())?;
            st.serialize_field("checked", &self.0.checked)?;
            st.serialize_field("unsound", &self.0.unsound)?;
            st.serialize_field("unsound_elements", &self.0.unsound_elements)?;
            let vs: Vec<V<'_, T>> = self
                .0
                .violations
                .iter()
                .take(self.1)
                .map(|v| V(v, self.2, std::marker::PhantomData))
                .collect();
            st.serialize_field("violations", &vs)?;
            st.end()
        }
    }
    serde_json::to_writer(
        &mut w,
        &R::<T>(r, limit, with_source, std::marker::PhantomData),
    )?;
    w.write_all(b"\n")?;
    w.flush()
}

/// One number of the output: shortest round-trip decimal of the dtype, or "inf"/"-inf".
struct Num<T>(T);

impl<T: Float> Serialize for Num<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let x = self.0.to_f64_exact();
        if x.is_infinite() {
            s.serialize_str(if x > 0.0 { "inf" } else { "-inf" })
        } else {
            match T::DTYPE {
                // Exact: x came from an f32.
                Dtype::F32 => s.serialize_f32(x as f32),
                Dtype::F64 => s.serialize_f64(x),
            }
        }
    }
}

struct Seq<'a, T>(&'a [T]);

impl<T: Float> Serialize for Seq<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for &x in self.0 {
            seq.serialize_element(&Num(x))?;
        }
        seq.end()
    }
}

struct BoxOut<'a, T: Float>(&'a TensorBox<T>);

impl<T: Float> Serialize for BoxOut<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Box", 4)?;
        st.serialize_field("dtype", T::DTYPE.name())?;
        st.serialize_field("shape", self.0.shape().dims())?;
        st.serialize_field("lo", &Seq(self.0.lo()))?;
        st.serialize_field("hi", &Seq(self.0.hi()))?;
        st.end()
    }
}

/// Writes a box as an output document (one line, then a newline), streaming.
///
/// ```
/// use bnbound::{Shape, TensorBox};
/// let b = TensorBox::new(Shape::new(&[2])?, vec![0.1f32, f32::NEG_INFINITY], vec![0.2, 1.0])?;
/// let mut out = Vec::new();
/// bnbound_cli::json::write_box(&b, &mut out).unwrap();
/// assert_eq!(String::from_utf8(out).unwrap(),
///            "{\"dtype\":\"f32\",\"shape\":[2],\"lo\":[0.1,\"-inf\"],\"hi\":[0.2,1.0]}\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_box<T: Float, W: Write>(b: &TensorBox<T>, mut w: W) -> std::io::Result<()> {
    serde_json::to_writer(&mut w, &BoxOut(b))?;
    w.write_all(b"\n")?;
    w.flush()
}

struct Rows<'a, T>(&'a [T], usize);

impl<T: Float> Serialize for Rows<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let cols = self.1;
        let rows = self.0.len().checked_div(cols).unwrap_or(0);
        let mut seq = s.serialize_seq(Some(rows))?;
        for r in 0..rows {
            seq.serialize_element(&Seq(&self.0[r * cols..(r + 1) * cols]))?;
        }
        seq.end()
    }
}

struct Pair<S1, S2>(S1, S2);

impl<S1: Serialize, S2: Serialize> Serialize for Pair<S1, S2> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Pair", 2)?;
        st.serialize_field("lo", &self.0)?;
        st.serialize_field("hi", &self.1)?;
        st.end()
    }
}

/// Writes a form in the document structure of `kind` (one line, then a newline), with its
/// `"dtype"`: its numbers name floats of that type, so the output read back as a form
/// (`affine`'s input, or a claim for `check`) is the same form.
///
/// ```
/// use bnbound_cli::json::{write_form, FormKind};
/// let f = bnbound::AffineForm::point(1, 2, vec![1.0f32, 0.5], vec![-2.0])?;
/// let mut out = Vec::new();
/// write_form(&f, FormKind::Linear, &mut out).unwrap();
/// assert_eq!(String::from_utf8(out).unwrap(),
///     "{\"dtype\":\"f32\",\"L\":{\"lo\":[[1.0,0.5]],\"hi\":[[1.0,0.5]]},\"d\":{\"lo\":[-2.0],\"hi\":[-2.0]}}\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_form<T: Float, W: Write>(
    f: &AffineForm<T>,
    kind: FormKind,
    mut w: W,
) -> std::io::Result<()> {
    struct Doc<'a, T: Float>(&'a AffineForm<T>, FormKind);
    impl<T: Float> Serialize for Doc<'_, T> {
        fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            let (mk, vk) = self.1.keys();
            let (m, v, cols) = (self.0.a(), self.0.c(), self.0.cols());
            let mut st = s.serialize_struct("Form", 3)?;
            st.serialize_field("dtype", T::DTYPE.name())?;
            st.serialize_field(mk, &Pair(Rows(m.lo(), cols), Rows(m.hi(), cols)))?;
            st.serialize_field(vk, &Pair(Seq(v.lo()), Seq(v.hi())))?;
            st.end()
        }
    }
    serde_json::to_writer(&mut w, &Doc(f, kind))?;
    w.write_all(b"\n")?;
    w.flush()
}

/// Writes a deployed fold: `{"dtype", "dims", "weight": [..], "bias": [..],
/// "weight_radius": [..], "bias_radius": [..]}` (the runtime's floats bit for bit, and for
/// each a bound on its distance to the exact real composition).
///
/// ```
/// use bnbound::{fold::LinearLayer, BatchNorm, Runtime};
/// let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![4.0], 0.0)?;
/// let f = bn.deployed(Runtime::OnnxruntimeCpu).fold_into_preceding(&LinearLayer::new(&[1, 1], vec![3.0], None)?)?;
/// let mut out = Vec::new();
/// bnbound_cli::json::write_deployed_fold(&f, &mut out).unwrap();
/// assert!(String::from_utf8(out).unwrap().starts_with("{\"dtype\":\"f32\",\"dims\":[1,1],\"weight\":[1.5]"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_deployed_fold<T: Float, W: Write>(
    f: &bnbound::fold::FloatFolded<T>,
    mut w: W,
) -> std::io::Result<()> {
    struct Out<'a, T: Float>(&'a bnbound::fold::FloatFolded<T>);
    impl<T: Float> Serialize for Out<'_, T> {
        fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            let mut st = s.serialize_struct("Fold", 6)?;
            st.serialize_field("dtype", T::DTYPE.name())?;
            st.serialize_field("dims", self.0.dims())?;
            st.serialize_field("weight", &Seq(self.0.weight()))?;
            st.serialize_field("bias", &Seq(self.0.bias()))?;
            st.serialize_field("weight_radius", &Seq(self.0.weight_radius()))?;
            st.serialize_field("bias_radius", &Seq(self.0.bias_radius()))?;
            st.end()
        }
    }
    serde_json::to_writer(&mut w, &Out(f))?;
    w.write_all(b"\n")?;
    w.flush()
}
