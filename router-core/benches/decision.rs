//! Decision evaluation benchmark (filled in with the engine).
fn main() {}
