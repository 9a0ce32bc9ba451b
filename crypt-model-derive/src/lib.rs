//! The `#[derive(EncryptedItem)]` macro of crypt-model.
//!
//! Use it through the `crypt-model` crate, which re-exports it. It arrives with the issue "The
//! derive macro, `Sealed<T>` and the owner gate"; until then this crate exports nothing.
