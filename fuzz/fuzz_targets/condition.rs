//! Condition text: parsing never panics, and a parsed condition evaluates on a fixed event
//! (with ARNs and two account fields, for field references and ARN parts).
#![no_main]

use eshunt::event::{Event, Origin};
use eshunt::rule::condition::Condition;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(condition) = Condition::parse(text) {
        let event = Event::from_document(
            serde_json::json!({
                "eventName": "X",
                "userIdentity": {"type": "IAMUser", "accountId": "1", "arn": "arn:aws:iam::1:user/u"},
                "recipientAccountId": "2",
                "a": [1, "b", {"c": null}, "arn:aws:lambda:us-east-1:2:function:f:1"],
            }),
            Origin::Inline("fuzz".into()),
        );
        let _ = condition.evaluate(&event);
        let _ = condition.explain(&event);
    }
});
