//! CPU backend: the llama forward over quantized weights, its integer matmul kernels, f32
//! vector ops, paged attention, the KV tensors and the session that owns them.
pub mod attention;
pub mod kv_store;
pub mod llama;
pub mod matmul;
pub mod ops;
pub mod qdot;
pub mod quant;
pub mod session;
#[cfg(test)]
mod tests;
pub mod weights;
