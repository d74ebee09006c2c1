//! The CUDA backend: the same packed-step llama forward on an NVIDIA GPU through cudarc.
//! Libraries are opened at run time (`libs`), kernels compiled by NVRTC at start-up
//! (`compile`), GEMMs run in cuBLAS with bf16 inputs and f32 accumulation.
pub mod compile;
pub mod fetch_nvrtc;
pub mod gpu;
pub mod kv;
pub mod libs;
pub mod llama;
pub mod load;
pub mod plan;
pub mod profile;
pub mod reference;
pub mod session;
pub mod split;
pub mod weights;
