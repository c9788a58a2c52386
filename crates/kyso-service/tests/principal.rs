//! A principal can only be made by kyso-service's authentication module: these programs must
//! not compile.

#[test]
fn other_code_cannot_build_a_principal() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/compile_fail/*.rs");
}
