#![no_main]
// The check is engine::fuzz_checks::gguf_header, which engine/tests/fuzz_corpus.rs replays on corpus/.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    engine::fuzz_checks::gguf_header(data);
});
