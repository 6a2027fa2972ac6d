//! Property tests of the library: random layers, boxes and forms of every rank, biased to
//! hard values, checked against the test kit's exact rational oracle and its emulation of
//! the runtimes, one module per operation or mode. Named hand-written cases are in
//! `tests/cases/`.

mod affine_cnn;
mod affine_props;
mod backward_batch;
mod backward_modes;
mod check_tight;
mod deployed_linear;
mod deployed_props;
mod emulated;
mod exact_agrees;
mod fold_props;
mod fp_env;
mod ibp_overflow;
mod ibp_props;
mod ndarray_ibp;
