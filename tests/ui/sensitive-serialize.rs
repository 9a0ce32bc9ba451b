use crypt_model::Sensitive;

#[derive(serde::Serialize)]
struct Response {
    ssn: Sensitive<String>,
}

fn main() {
    let response = Response { ssn: Sensitive::new(String::from("078-05-1120")) };
    let _ = serde_json::to_string(&response);
}
