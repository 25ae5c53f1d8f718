use serde_json::json;

use super::*;

fn record(id: u64) -> Map<String, Value> {
    match json!({"table": "disclosures", "id": id, "service": format!("service-{id}"), "at": 1_700_000_000 + id})
    {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

/// An export of `n` records in log order, and the tree's leaves for them.
fn log(n: u64) -> (Vec<ExportedRecord>, Vec<Hash>) {
    let export: Vec<ExportedRecord> = (0..n)
        .map(|leaf| ExportedRecord {
            leaf,
            record: record(leaf),
        })
        .collect();
    let leaves = export
        .iter()
        .map(|e| leaf_hash(&e.record).unwrap())
        .collect();
    (export, leaves)
}

#[test]
fn a_clean_export_passes() {
    let (export, leaves) = log(10);
    assert_eq!(
        compare(&export, &leaves),
        Ok(Coverage {
            checked: 10,
            not_yet_in_tree: 0
        })
    );
    assert_eq!(
        compare(&[], &[]),
        Ok(Coverage {
            checked: 0,
            not_yet_in_tree: 0
        })
    );
}

#[test]
fn records_beyond_the_tree_are_counted() {
    let (export, leaves) = log(12);
    assert_eq!(
        compare(&export, &leaves[..10]),
        Ok(Coverage {
            checked: 10,
            not_yet_in_tree: 2
        })
    );
}

#[test]
fn an_edited_field_is_an_edit_at_its_position() {
    let (mut export, leaves) = log(10);
    export[3]
        .record
        .insert("service".into(), json!("somewhere-else"));
    let found = compare(&export, &leaves).unwrap_err();
    assert_eq!(
        found,
        Discrepancy::Edited {
            position: 3,
            record: "disclosures id 3".into()
        }
    );
    assert_eq!(
        found.to_string(),
        "record 3 (disclosures id 3) was edited: it is not what the log holds at 3"
    );
}

#[test]
fn an_edit_of_the_last_record_is_an_edit() {
    let (mut export, leaves) = log(10);
    export[9].record.insert("at".into(), json!(0));
    assert!(matches!(
        compare(&export, &leaves),
        Err(Discrepancy::Edited { position: 9, .. })
    ));
}

#[test]
fn a_record_that_cannot_be_encoded_is_an_edit() {
    let (mut export, leaves) = log(10);
    export[2].record.insert("at".into(), json!(1.5));
    assert!(matches!(
        compare(&export, &leaves),
        Err(Discrepancy::Edited { position: 2, .. })
    ));
}

#[test]
fn a_removed_record_is_a_removal() {
    let (mut export, leaves) = log(10);
    export.remove(3);
    let found = compare(&export, &leaves).unwrap_err();
    assert_eq!(found, Discrepancy::Removed { position: 3 });
    assert!(found.to_string().starts_with("record 3 was removed"));
}

#[test]
fn a_truncated_export_is_a_removal() {
    let (export, leaves) = log(10);
    assert_eq!(
        compare(&export[..7], &leaves),
        Err(Discrepancy::Removed { position: 7 })
    );
    assert_eq!(
        compare(&[], &leaves),
        Err(Discrepancy::Removed { position: 0 })
    );
}

#[test]
fn an_inserted_record_is_an_insertion() {
    let (mut export, leaves) = log(10);
    let mut forged = record(99);
    forged.insert("id".into(), json!(42));
    export.insert(
        3,
        ExportedRecord {
            leaf: 3,
            record: forged,
        },
    );
    let found = compare(&export, &leaves).unwrap_err();
    assert_eq!(
        found,
        Discrepancy::Inserted {
            position: 3,
            record: "disclosures id 42".into()
        }
    );
    assert!(found.to_string().contains("was inserted"));
}

#[test]
fn swapped_records_are_a_reordering() {
    let (mut export, leaves) = log(10);
    export.swap(3, 4);
    // The export's leaf numbers follow the rows' positions.
    export[3].leaf = 3;
    export[4].leaf = 4;
    let found = compare(&export, &leaves).unwrap_err();
    assert_eq!(
        found,
        Discrepancy::Reordered {
            position: 3,
            record: "disclosures id 4".into(),
            log_position: 4
        }
    );
    assert_eq!(
        found.to_string(),
        "record 3 (disclosures id 4) was reordered: the log holds it at 4, not 3"
    );
}

#[test]
fn a_wrong_leaf_number_is_misnumbering() {
    let (mut export, leaves) = log(10);
    export[5].leaf = 6;
    assert_eq!(
        compare(&export, &leaves),
        Err(Discrepancy::Misnumbered {
            position: 5,
            record: "disclosures id 5".into(),
            claimed: 6
        })
    );
}

#[test]
fn records_are_named_by_table_and_id_seq_or_version() {
    let named = |v: Value| match v {
        Value::Object(map) => label(&map),
        _ => unreachable!(),
    };
    assert_eq!(
        named(json!({"table": "consents", "seq": 4})),
        "consents seq 4"
    );
    assert_eq!(
        named(json!({"table": "registry", "version": "v7"})),
        "registry version v7"
    );
    assert_eq!(named(json!({"table": "audit"})), "audit");
    assert_eq!(named(json!({"id": 1})), "unknown table id 1");
}
