//! Models: cards, GGUF reading, tokenizer, weights and the llama forward.
pub mod cards;
pub mod fetch;
pub mod gguf;
pub mod llama;
pub mod spec;
pub mod tokenizer;
pub mod weights;
