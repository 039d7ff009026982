//! Robustness: no input makes the KQL parser or translator panic, and translation is a function.

use esquery::kql::{self, DataView, DslOptions, FieldSpec, ParseOptions};
use proptest::prelude::*;

/// Strings built from KQL's tokens, so that most inputs reach deep into the grammar.
fn kqlish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just(" ".to_string()),
        Just("\n".to_string()),
        Just("\u{a0}".to_string()),
        Just(" and ".to_string()),
        Just(" OR ".to_string()),
        Just("not ".to_string()),
        Just(":".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("*".to_string()),
        Just("<".to_string()),
        Just(">=".to_string()),
        Just("\\u00e9".to_string()),
        Just("\\uD83D".to_string()),
        Just("😀".to_string()),
        "[a-z.@_0-9-]{1,6}",
    ];
    prop::collection::vec(token, 0..24).prop_map(|tokens| tokens.concat())
}

fn view() -> DataView {
    DataView {
        fields: vec![
            FieldSpec {
                name: "a.b".into(),
                field_type: "string".into(),
                es_types: vec!["keyword".into()],
                nested_path: Some("a".into()),
            },
            FieldSpec {
                name: "t".into(),
                field_type: "date".into(),
                es_types: vec!["date".into()],
                nested_path: None,
            },
        ],
    }
}

fn exercise(query: &str) {
    let first = kql::translate(query);
    assert_eq!(first, kql::translate(query), "translate is deterministic");
    match kql::parse(query) {
        Ok(node) => {
            let _ = kql::fields(&node);
            let json = kql::to_kuery_json(&node);
            assert_eq!(kql::from_kuery_json(&json).ok(), Some(node.clone()));
            let _ = kql::to_dsl_opts(&node, Some(&view()), &DslOptions::default());
        }
        Err(error) => {
            assert!(error.offset() <= query.chars().count());
            assert!(!error.short().contains('\n'));
        }
    }
    let strict = ParseOptions {
        allow_leading_wildcards: false,
    };
    let _ = kql::parse_with(query, &strict);
    let _ = kql::parse_literal(query);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_strings_never_panic(query in any::<String>()) {
        exercise(&query);
    }

    #[test]
    fn kql_like_strings_never_panic(query in kqlish()) {
        exercise(&query);
    }
}
