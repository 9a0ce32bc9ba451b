use crypt_model::Sensitive;

fn main() {
    let ssn = Sensitive::new(String::from("078-05-1120"));
    let _ = format!("{}", ssn);
}
