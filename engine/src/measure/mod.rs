//! Timing a model on a device: step shapes and the one timing primitive, the model benchmark,
//! the interference measurement and the GPU acceptance check.
pub mod bench_model;
pub mod calibrate;
pub mod gpu_check;
pub mod gpu_kernels;
pub mod gpu_serving;
pub mod interference;
pub mod steps;
pub mod validate;
