//! The compile-fail suite: each file in `ui/` breaks one rule and its `.stderr` is the message a
//! user sees (reviewed line by line); `ui/pass/` must compile.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/*.rs");
}
