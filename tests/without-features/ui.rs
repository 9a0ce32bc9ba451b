//! A field of a type of the `uuid` or `chrono` crates in a model, or a model that names the
//! `aes256gcm` suite, without crypt-model's feature of that name: each error the compiler gives names the feature (the `.stderr` files, reviewed
//! line by line).
#![allow(clippy::expect_used, clippy::panic)]

#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("ui/*.rs");
}

/// Each error of each case names the feature its type needs: the property the `.stderr` files
/// show, checked so that a new error without the note fails here, not only in review.
#[test]
fn every_error_names_the_feature_to_turn_on() {
    for (case, feature) in [
        ("uuid", "\"uuid\""),
        ("chrono", "\"chrono\""),
        ("aes-gcm", "\"aes-gcm\""),
    ] {
        let path = format!("ui/{case}-without-feature.stderr");
        let stderr = std::fs::read_to_string(&path).expect("the case's .stderr");
        let text = format!("\n{stderr}");
        let errors: Vec<&str> = text.split("\nerror").skip(1).collect();
        assert!(!errors.is_empty(), "{path}: no error");
        for error in errors {
            assert!(
                error.contains(feature) || error.contains(&format!("feature `{case}`")),
                "{path}: an error does not name the feature {feature}:\n{error}"
            );
        }
    }
}
