//! Property tests of the event parser and validator (host only): arbitrary input never panics, and
//! valid events survive the wire unchanged.
#![cfg(not(target_arch = "wasm32"))]

use mindbox_model::check::{check_batch, Limits, Policy};
use mindbox_model::event::Event;
use mindbox_model::operation::DEFAULT_OPERATIONS;
use mindbox_model::uuid;
use proptest::prelude::*;
use serde_json::{Map, Value};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        "[ -~а-я]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn event() -> impl Strategy<Value = Event> {
    (
        any::<[u8; 16]>(),
        prop::sample::select(DEFAULT_OPERATIONS),
        prop::collection::btree_map("[a-zA-Z]{1,8}", json_value(), 0..5),
        prop::option::of(0u32..=u32::MAX),
    )
        .prop_map(|(id, op, data, at)| Event {
            id: uuid::v4_from_bytes(id),
            operation: op.to_string(),
            data: Value::Object(data.into_iter().collect()),
            created_at: at.map(f64::from),
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = check_batch(&bytes, &Limits::default(), &Policy::default());
    }

    #[test]
    fn arbitrary_json_never_panics(value in json_value()) {
        let body = serde_json::to_vec(&value).unwrap();
        let _ = check_batch(&body, &Limits::default(), &Policy::default());
        let wrapped = serde_json::to_vec(&serde_json::json!({"events": [value]})).unwrap();
        let _ = check_batch(&wrapped, &Limits::default(), &Policy::default());
    }

    #[test]
    fn valid_events_round_trip(events in prop::collection::vec(event(), 0..20), device in any::<[u8; 16]>()) {
        let mut seen = std::collections::HashSet::new();
        let events: Vec<Event> = events.into_iter().filter(|e| seen.insert(e.id.clone())).collect();
        let device = uuid::v4_from_bytes(device);
        let body = serde_json::to_vec(&serde_json::json!({"deviceUUID": device, "events": events})).unwrap();
        let checked = check_batch(&body, &Limits { max_body_bytes: usize::MAX, max_events: 100 }, &Policy::default()).unwrap();
        prop_assert_eq!(checked.device_uuid, Some(device));
        let back: Vec<Event> = checked.events.into_iter().map(|r| r.unwrap()).collect();
        prop_assert_eq!(back, events);
    }
}
