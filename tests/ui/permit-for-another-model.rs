use crypt_model::access::{Gate, Permit};
use crypt_model::{Caller, Keys, EncryptedItem, Sealed, Sensitive};

#[derive(EncryptedItem)]
#[crypt_model(table = "profiles")]
struct Profile {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive]
    ssn: Sensitive<String>,
}

#[derive(EncryptedItem)]
#[crypt_model(table = "notes")]
struct Note {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive]
    body: Sensitive<String>,
}

async fn open_a_note(gate: &Gate<Profile>, caller: &Caller, note: Sealed<Note>, keys: &Keys) {
    // A gate decides for one model: the profiles' policy cannot admit a note...
    let permit = gate.admit(caller, note).unwrap();
}

fn reuse(permit: Permit<Profile>) -> Permit<Note> {
    // ... and a permit for a profile does not open a note.
    permit
}

fn main() {}
