//! [`OwnerKeys`] as a key source: the key of each owner's records, from memory or the key
//! table; a record written before the model kept a key per owner under its shared key, unless
//! those are refused.

use std::sync::Arc;

use async_trait::async_trait;
use subtle::ConstantTimeEq;

use super::{OwnerKeys, owner_key, row::row_key};
use crate::access::Admission;
use crate::error::Result;
use crate::format::OWNER_KEY_ID;
use crate::key_source::KeySource;
use crate::keyring::{DataKey, GeneratedDataKey};

/// Per-owner keys: each owner's records are sealed under a key of their own, kept only in the
/// key table; a record written before the model kept a key per owner still opens under the
/// shared key its header names.
#[async_trait]
impl KeySource for OwnerKeys {
    fn cached_sealing_key(
        &self,
        table: &'static str,
        owner: &str,
        _bytes: u64,
    ) -> Option<Arc<GeneratedDataKey>> {
        let (key, handle) = self.cached(&row_key(table, owner))?;
        Some(owner_key(key, handle))
    }

    fn cached_opening_key(&self, admission: &Admission<'_>) -> Option<DataKey> {
        if admission.key_id() != OWNER_KEY_ID {
            // Refused, if shared keys are: `opening_key` says so.
            if self.shared_refused {
                return None;
            }
            return self.keys.as_ref()?.cached_opening_key(admission);
        }
        // A cached key of another handle (an erased key of the owner's) is not this record's.
        let (key, handle) = self.cached(&row_key(admission.table(), admission.owner()))?;
        bool::from(handle.as_slice().ct_eq(admission.wrapped())).then_some(key)
    }

    async fn sealing_key(
        &self,
        table: &'static str,
        owner: &str,
        _bytes: u64,
    ) -> Result<Arc<GeneratedDataKey>> {
        let (key, handle) = self.key_for_write(table, owner).await?;
        Ok(owner_key(key, handle))
    }

    async fn opening_key(&self, admission: &Admission<'_>) -> Result<DataKey> {
        if admission.key_id() == OWNER_KEY_ID {
            let (table, owner) = (admission.table(), admission.owner());
            return self.key_for_read(table, owner, admission.wrapped()).await;
        }
        if self.shared_refused {
            tracing::warn!(
                target: "crypt_model::integrity",
                table = admission.table(),
                "a record under a shared data key, which this key table refuses: an old copy \
                 put back, or a record the re-encryption did not move"
            );
            return Err(crate::format::header_integrity());
        }
        self.keys()?.opening_key(admission).await
    }
}
