//! Criterion benchmarks for Sentinel live in `benches/`; run them with
//! `cargo bench -p sentinel-benches`.
