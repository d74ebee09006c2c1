//! CPU backend: integer matmul kernels, f32 vector ops and paged attention.
pub mod attention;
pub mod matmul;
pub mod ops;
pub mod qdot;
pub mod quant;
#[cfg(test)]
mod tests;
