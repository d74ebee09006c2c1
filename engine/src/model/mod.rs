//! What a model is and where it comes from: cards, GGUF reading, the tokenizer, fetching.
pub mod cards;
pub mod fetch;
pub mod gguf;
pub mod spec;
pub mod tokenizer;
