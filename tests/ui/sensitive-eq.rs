use crypt_model::Sensitive;

fn main() {
    let a = Sensitive::new(String::from("078-05-1120"));
    let b = Sensitive::new(String::from("078-05-1120"));
    let _ = a == b;
}
