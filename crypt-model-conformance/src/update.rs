//! Updates through the table: what `update` writes, that a field cannot be rolled back apart
//! from the rest of its item, and that a reseal follows key rotation and the cache policy.
// A case is named as the sentence it checks; its models and helpers serve the cases.
#![allow(missing_docs)]

use crypt_model::error::{AccessError, IntegrityError, KeyError, StorageError};
use std::sync::Arc;

use crypt_model::{
    AttributeValue, CacheLimits, Caller, EncryptedItem, Error, Item, Key, Keys, LocalKeyring,
    Sensitive, Store, Table, TableRef,
};

use super::{Harness, put, table, table_with};

/// A versioned model with two sensitive fields, one optional.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_vaults")]
pub struct Vault {
    #[partition_key]
    #[owner]
    pub user_id: String,
    #[crypt_model(version)]
    pub version: u64,
    #[sensitive]
    pub pin: Sensitive<String>,
    #[sensitive]
    pub recovery: Option<Sensitive<String>>,
    pub label: String,
}

pub async fn update_writes_the_named_fields_only(backend: &impl Harness) {
    let vaults = table::<Vault, _>(backend).await;
    let erin = Caller::user("erin").unwrap();
    let key = Key::new("erin");
    let mut vault = Vault {
        user_id: "erin".into(),
        version: 0,
        pin: Sensitive::new("1234".into()),
        recovery: None,
        label: "main".into(),
    };
    vaults.put(&erin, &mut vault).await.unwrap();
    let stored = || stored(backend, vaults.table_ref(), &key);
    let before = stored().await;

    let mut read = vaults.get(&erin, &key).await.unwrap().unwrap();
    *read.pin.expose_secret_mut() = "9876".into();
    read.label = "not written".into();
    vaults
        .update(&erin, &mut read, &[Vault::PIN])
        .await
        .unwrap();
    assert_eq!(read.version, 2);
    let after = stored().await;
    // The whole item is sealed again, under a new salt; the plain fields not named stay.
    for changed in ["__cm_header", "__cm_sealed", "version"] {
        assert_ne!(after.get(changed), before.get(changed), "{changed}");
    }
    for unchanged in ["label", "user_id"] {
        assert_eq!(after.get(unchanged), before.get(unchanged), "{unchanged}");
    }
    let reread = vaults.get(&erin, &key).await.unwrap().unwrap();
    assert_eq!(reread.pin.expose_secret(), "9876");
    assert_eq!((reread.version, reread.label.as_str()), (2, "main"));

    // An update of a record deleted since it was read: a conflict, whose message says what to do
    // (read it again) and that a record no longer there is answered so too.
    let mut gone = Vault {
        user_id: "erin-gone".into(),
        version: 0,
        pin: Sensitive::new("0000".into()),
        recovery: None,
        label: "gone".into(),
    };
    let erin_gone = Caller::user("erin-gone").unwrap();
    vaults.put(&erin_gone, &mut gone).await.unwrap();
    vaults
        .delete(&erin_gone, &Key::new("erin-gone"))
        .await
        .unwrap();
    let error = vaults
        .update(&erin_gone, &mut gone, &[Vault::PIN])
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, Error::Storage(StorageError::Conflict { .. }))
            && message.contains("not there")
            && message.contains("read it again"),
        "{message}"
    );

    // An optional field added, and a plain field: both are authenticated with the rest.
    let mut with_recovery = reread;
    with_recovery.recovery = Some(Sensitive::new("words words".into()));
    with_recovery.label = "renamed".into();
    vaults
        .update(&erin, &mut with_recovery, &[Vault::RECOVERY, Vault::LABEL])
        .await
        .unwrap();
    let opened = vaults.get(&erin, &key).await.unwrap().unwrap();
    assert_eq!(
        opened.recovery.as_ref().unwrap().expose_secret(),
        "words words"
    );
    assert_eq!(
        (opened.pin.expose_secret().as_str(), opened.label.as_str()),
        ("9876", "renamed")
    );

    // A record read before the last write is stale.
    let mut stale = with_recovery;
    stale.version = 2;
    *stale.pin.expose_secret_mut() = "0000".into();
    assert!(matches!(
        vaults.update(&erin, &mut stale, &[Vault::PIN]).await,
        Err(Error::Storage(StorageError::Conflict { .. }))
    ));
    // Someone else cannot; keys, the owner, the version and unknown names are refused.
    let mut current = vaults.get(&erin, &key).await.unwrap().unwrap();
    assert!(matches!(
        vaults
            .update(&Caller::user("frank").unwrap(), &mut current, &[Vault::PIN])
            .await,
        Err(Error::Access(AccessError::Denied { .. }))
    ));
    // Keys, the owner, the version, a misspelt field or a field of another model have no
    // selector: such an update does not compile (tests/ui/update-*.rs).
    // Removing the optional field.
    current.recovery = None;
    vaults
        .update(&erin, &mut current, &[Vault::RECOVERY])
        .await
        .unwrap();
    let opened = vaults.get(&erin, &key).await.unwrap().unwrap();
    assert!(opened.recovery.is_none());
    assert_eq!(opened.pin.expose_secret(), "9876");

    // A stored item that was tampered with is refused, not sealed again.
    let mut in_hand = vaults.get(&erin, &key).await.unwrap().unwrap();
    let mut raw = stored().await;
    if let Some(AttributeValue::B(header)) = raw.get_mut("__cm_header") {
        let salt_byte = header.len() - 40;
        header[salt_byte] ^= 1;
    }
    put(&backend.store(), vaults.table_ref(), raw).await;
    *in_hand.pin.expose_secret_mut() = "5555".into();
    let error = vaults
        .update(&erin, &mut in_hand, &[Vault::PIN])
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Integrity(IntegrityError { attribute, .. }) if attribute == "__cm_header"),
        "{error:?}"
    );

    // A model without a version cannot promise "unchanged since read": `update` needs
    // `Versioned`, which the derive implements only for a model with a version (tests/ui).
}

/// The item stored under `key`, as the store holds it.
async fn stored(backend: &impl Harness, table: &TableRef, key: &Key) -> Item {
    backend.store().get(table, key).await.unwrap().unwrap()
}

fn vault(user: &str, pin: &str, recovery: Option<&str>) -> Vault {
    Vault {
        user_id: user.into(),
        version: 0,
        pin: Sensitive::new(pin.into()),
        recovery: recovery.map(|words| Sensitive::new(words.into())),
        label: "main".into(),
    }
}

/// The cryptographic review's case: the pin is updated, then the recovery words; someone with
/// raw write access and an older copy of the item puts back the older encrypted state.
pub async fn a_field_rolled_back_after_later_updates_is_an_integrity_failure(
    backend: &impl Harness,
) {
    let vaults = table::<Vault, _>(backend).await;
    let gina = Caller::user("gina").unwrap();
    let key = Key::new("gina");
    let raw = || stored(backend, vaults.table_ref(), &key);
    let mut record = vault("gina", "1111", Some("old words"));
    vaults.put(&gina, &mut record).await.unwrap();
    let original = raw().await;
    *record.pin.expose_secret_mut() = "2222".into();
    vaults
        .update(&gina, &mut record, &[Vault::PIN])
        .await
        .unwrap();
    let after_pin = raw().await;
    record.recovery = Some(Sensitive::new("new words".into()));
    vaults
        .update(&gina, &mut record, &[Vault::RECOVERY])
        .await
        .unwrap();
    let current = raw().await;

    for (attributes, what) in [
        (&["__cm_sealed"][..], "the message alone"),
        (
            &["__cm_header", "__cm_sealed"][..],
            "the whole encrypted part, under the current version attribute",
        ),
    ] {
        for older in [&original, &after_pin] {
            let mut rolled_back = current.clone();
            for attribute in attributes {
                rolled_back.insert(*attribute, older.get(attribute).unwrap().clone());
            }
            put(&backend.store(), vaults.table_ref(), rolled_back).await;
            let error = vaults.get(&gina, &key).await.unwrap_err();
            assert!(matches!(error, Error::Integrity(_)), "{what}: {error:?}");
        }
    }

    // The whole item as it was after the first update — a version that really was written — opens
    // as that version: whole-item rollback is not detected at this layer (docs/threat-model.md).
    put(&backend.store(), vaults.table_ref(), after_pin).await;
    let rolled_back = vaults.get(&gina, &key).await.unwrap().unwrap();
    assert_eq!(rolled_back.pin.expose_secret(), "2222");
    assert_eq!(
        rolled_back.recovery.as_ref().unwrap().expose_secret(),
        "old words"
    );
    assert_eq!(rolled_back.version, 2);
}

/// After a rotation (the old key kept for reads only), an update seals the item again under a
/// data key of the new primary key: a reader that holds only the new key can open it.
pub async fn an_update_reseals_under_the_current_primary_key(backend: &impl Harness) {
    let (old_key, new_key) = ([1; 32], [2; 32]);
    let old = Arc::new(Keys::new(LocalKeyring::new("2026-01", &old_key).unwrap()));
    let rotated = Arc::new(Keys::new(
        LocalKeyring::new("2026-11", &new_key)
            .unwrap()
            .with_read_key("2026-01", &old_key)
            .unwrap(),
    ));
    let new_only = || Arc::new(Keys::new(LocalKeyring::new("2026-11", &new_key).unwrap()));
    let hana = Caller::user("hana").unwrap();
    let key = Key::new("hana");

    let mut record = vault("hana", "3333", None);
    let written = table_with::<Vault, _>(backend, old).await;
    written.put(&hana, &mut record).await.unwrap();
    // The same table, through other ciphers.
    let on = |keys: Arc<Keys>| {
        Table::<Vault, _>::named(backend.store(), keys, written.table_ref().name()).unwrap()
    };
    let error = on(new_only()).get(&hana, &key).await.unwrap_err();
    assert!(
        matches!(&error, Error::Key(KeyError::UnknownKeyId { key_id }) if key_id == "2026-01"),
        "{error:?}"
    );

    // Only a plain field changes; the whole item is sealed again all the same.
    let vaults = on(rotated);
    let mut read = vaults.get(&hana, &key).await.unwrap().unwrap();
    read.label = "relabelled".into();
    vaults
        .update(&hana, &mut read, &[Vault::LABEL])
        .await
        .unwrap();

    let reread = on(new_only()).get(&hana, &key).await.unwrap().unwrap();
    assert_eq!(
        (reread.pin.expose_secret().as_str(), reread.label.as_str()),
        ("3333", "relabelled")
    );
}

/// A reseal counts against the cache's limits like any write: with one item per data key, each
/// update asks the keyring for a new one.
pub async fn an_update_takes_a_data_key_within_the_cache_policy(backend: &impl Harness) {
    let keys = Arc::new(Keys::with_cache_limits(
        LocalKeyring::new("k", &[3; 32]).unwrap(),
        CacheLimits::default().max_items(1),
    ));
    let vaults = table_with::<Vault, _>(backend, keys.clone()).await;
    let ines = Caller::user("ines").unwrap();
    let mut record = vault("ines", "4444", None);
    vaults.put(&ines, &mut record).await.unwrap();
    for pin in ["5555", "6666", "7777"] {
        *record.pin.expose_secret_mut() = pin.into();
        vaults
            .update(&ines, &mut record, &[Vault::PIN])
            .await
            .unwrap();
    }
    assert_eq!(keys.keyring_calls().generate, 4);
    let opened = vaults.get(&ines, &Key::new("ines")).await.unwrap().unwrap();
    assert_eq!(opened.pin.expose_secret(), "7777");
}
