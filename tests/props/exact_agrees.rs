//! The library's exact decision (`bnbound::check::cmp_output`, by squaring) agrees with the test
//! oracle (integer square-root refinement) on random and constructed cases.

use bnbound::{check, BatchNorm};
use bnbound_testkit::{cmp_output, cmp_scale, hard_f64, Ch};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn exact_output_agrees_with_oracle(g in hard_f64(), b in hard_f64(), m in hard_f64(), v in hard_f64(),
                                       e in hard_f64(), x in hard_f64(), y in hard_f64(), near in any::<bool>()) {
        let (v, e) = (v.abs(), e.abs());
        prop_assume!(v + e > 0.0 || v > 0.0 || e > 0.0);
        let bn = BatchNorm::new(vec![g], vec![b], vec![m], vec![v], e).unwrap();
        let ch = Ch { g, b, m, v, e };
        // Half the time y is the rounded value itself, so Equal and near-misses occur.
        let y = if near {
            let r = g * (x - m) / (v + e).sqrt() + b;
            if r.is_finite() { r } else { y }
        } else { y };
        prop_assert_eq!(check::cmp_output(&bn, 0, x, y), Some(cmp_output(ch, x, y)));
        prop_assert_eq!(check::cmp_scale(&bn, 0, y), Some(cmp_scale(ch, y)));
    }
}
