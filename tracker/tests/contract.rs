//! The JS shell's half of the wire contract (`tracker/js/contract.js`) says what the shared model's
//! `wire` module says.
#![cfg(not(target_arch = "wasm32"))]

use mindbox_tracker::wire::{EventStatus, SETTLED_STATUSES, SPLIT_STATUSES};

#[test]
fn the_js_contract_matches() {
    let js = include_str!("../js/contract.js");
    let list = |name: &str| -> Vec<u16> {
        let start = js
            .find(&format!("export var {name} = ["))
            .unwrap_or_else(|| panic!("contract.js has no {name}"));
        let rest = &js[start..];
        let inner = &rest[rest.find('[').unwrap() + 1..rest.find(']').unwrap()];
        inner
            .split(',')
            .map(|n| n.trim().parse().unwrap())
            .collect()
    };
    assert_eq!(list("SETTLED"), SETTLED_STATUSES);
    assert_eq!(list("SPLIT"), SPLIT_STATUSES);
    for status in ["\"accepted\"", "\"rejected\""] {
        let rust =
            serde_json::to_string(&serde_json::from_str::<EventStatus>(status).unwrap()).unwrap();
        assert!(js.contains(&rust), "contract.js names {rust}");
    }
}
