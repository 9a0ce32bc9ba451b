use crypt_model::{EncryptedItem, Item, Sealed, Sensitive};

#[derive(EncryptedItem)]
#[crypt_model(table = "profiles")]
struct Profile {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive]
    ssn: Sensitive<String>,
}

fn sealed(item: Item) -> Sealed<Profile> {
    Profile::from_item(item)
}

fn main() {
    // `Sealed<T>` does not convert into `T`: only `open`, with a caller, does.
    let profile: Profile = sealed(Item::new()).into();
}
