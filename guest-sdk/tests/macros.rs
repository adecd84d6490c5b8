//! The macros' compile errors point at the author's code and say what to do.

#[test]
fn macro_errors_are_clear() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
