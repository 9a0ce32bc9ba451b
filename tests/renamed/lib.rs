//! A pass case of the derive: `crypt-model` is a dependency named `vault`, so no
//! `::crypt_model` path exists, and `#[crypt_model(crate = "vault")]` must be enough.
#![deny(warnings)]

use vault::{EncryptedItem, Sensitive};

/// A model deriving through the renamed crate.
#[derive(EncryptedItem)]
#[crypt_model(table = "renamed", crate = "vault")]
pub struct Note {
    /// Key and owner.
    #[partition_key]
    #[owner]
    pub user: String,
    /// The secret.
    #[sensitive]
    pub body: Sensitive<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn round_trips() {
        let keys = vault::Keys::new(vault::LocalKeyring::generate().unwrap());
        let note = Note {
            user: "u".into(),
            body: Sensitive::new("hi".into()),
        };
        let item = note.to_item(&keys).await.unwrap();
        let opened = Note::from_item(item)
            .open(&vault::Caller::user("u").unwrap(), &keys)
            .await
            .unwrap();
        assert_eq!(opened.body.expose_secret(), "hi");
    }
}
