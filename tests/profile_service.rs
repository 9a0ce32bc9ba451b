//! `examples/aws/profile_service.rs` over real HTTP (reqwest), in memory and on moto, with the
//! attacks an API gets: reading and writing someone else's profile by its id (IDOR), the owner
//! field in a body (mass assignment), a table named in the request, an unauthenticated or forged
//! caller, a body that does not parse; and no plaintext in any answer to someone who is not the
//! owner, in any error, or in the service's log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod moto;

use crypt_model_tests::service::Service;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const SSN: &str = "078-05-1120";
const EMAIL: &str = "alice.private@example.com";
const BOB_SSN: &str = "219-09-9999";

/// The service, running; killed on drop.
/// The profile service with `args`, accepting the tests' three callers' tokens.
fn profiles(args: &[&str]) -> Service {
    let tokens = "token-alice=alice,token-bob=bob,token-mallory=mallory";
    Service::start(
        "profile_service",
        args,
        &[("PROFILE_SERVICE_TOKENS", tokens)],
    )
}

/// An answer: status, headers that do not vary by time, body.
#[derive(Debug, PartialEq)]
struct Answer {
    status: StatusCode,
    headers: Vec<(String, String)>,
    body: String,
}

async fn call(
    service: &Service,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let mut request = Client::new().request(method, format!("{}{path}", service.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| *name != "date")
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    Answer {
        status,
        headers,
        body: response.text().await.unwrap(),
    }
}

fn profile(name: &str, email: &str, ssn: &str) -> Value {
    json!({"display_name": name, "email": email, "ssn": ssn})
}

/// `text` holds no secret, in any letter case (the search sends the email in capitals).
fn no_secret(what: &str, text: &str) {
    let lower = text.to_lowercase();
    for secret in [SSN, EMAIL, BOB_SSN, "alice.private"] {
        assert!(!lower.contains(secret), "{what} holds a secret: {text}");
    }
}

async fn attacks(service: Service) {
    use Method as M;
    let (alice, bob, mallory) = (
        Some("token-alice"),
        Some("token-bob"),
        Some("token-mallory"),
    );
    let alices = "/users/alice/profile";
    let put = call(
        &service,
        M::PUT,
        alices,
        alice,
        Some(profile("Alice", EMAIL, SSN)),
    )
    .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT, "{put:?}");
    let bobs = "/users/bob/profile";
    let put = call(
        &service,
        M::PUT,
        bobs,
        bob,
        Some(profile("Bob", "bob@example.com", BOB_SSN)),
    )
    .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT, "{put:?}");

    // The owner reads her profile: the email, and only the SSN's last four digits.
    let own = call(&service, M::GET, alices, alice, None).await;
    assert_eq!(own.status, StatusCode::OK, "{own:?}");
    let view: Value = serde_json::from_str(&own.body).unwrap();
    assert_eq!(
        (view["email"].as_str(), view["ssn_last4"].as_str()),
        (Some(EMAIL), Some("1120"))
    );
    assert!(!own.body.contains(SSN));

    // Everything below answers someone who is not the owner: no secret in any of it.
    let mut answers = Vec::new();

    // IDOR read: someone else's profile answers exactly like a missing one.
    let theirs = call(&service, M::GET, alices, mallory, None).await;
    let missing = call(&service, M::GET, "/users/nobody/profile", mallory, None).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(
        theirs, missing,
        "a foreign profile and a missing one differ"
    );
    answers.extend([theirs, missing]);

    // IDOR write and delete: refused like a missing profile, and nothing changes.
    let write = call(
        &service,
        M::PUT,
        alices,
        mallory,
        Some(profile("M", "m@x.com", "000-00-0000")),
    )
    .await;
    let delete = call(&service, M::DELETE, alices, mallory, None).await;
    let delete_missing = call(&service, M::DELETE, "/users/nobody/profile", mallory, None).await;
    assert_eq!(write.status, StatusCode::NOT_FOUND, "{write:?}");
    assert_eq!(delete, delete_missing);
    assert_eq!(delete.status, StatusCode::NOT_FOUND);
    answers.extend([write, delete, delete_missing]);
    let still = call(&service, M::GET, alices, alice, None).await;
    assert_eq!(still, own, "alice's profile changed");

    // Mass assignment: a body naming the owner is refused, whoever sends it.
    for (path, token) in [(alices, alice), ("/users/mallory/profile", mallory)] {
        let mut body = profile("M", "m@x.com", "000-00-0000");
        body["user_id"] = json!("alice");
        let answer = call(&service, M::PUT, path, token, Some(body)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{answer:?}");
        answers.push(answer);
    }
    assert_eq!(call(&service, M::GET, alices, alice, None).await, own);
    let mallorys = call(&service, M::GET, "/users/mallory/profile", mallory, None).await;
    assert_eq!(
        mallorys.status,
        StatusCode::NOT_FOUND,
        "mallory got a profile"
    );

    // A table named in the request changes nothing: the table is configuration.
    let elsewhere = call(
        &service,
        M::GET,
        "/users/alice/profile?table=admin",
        mallory,
        None,
    )
    .await;
    assert_eq!(elsewhere, answers[0]);
    let renamed = call(
        &service,
        M::GET,
        "/users/alice/profile?table=admin",
        alice,
        None,
    )
    .await;
    assert_eq!(renamed, own);

    // Search by email: the owner finds her profile; anyone else, nothing.
    let query = format!("/profiles/search?email={}", EMAIL.to_uppercase());
    let found = call(&service, M::GET, &query, alice, None).await;
    assert_eq!(found.status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&found.body).unwrap()[0]["user_id"],
        "alice"
    );
    let search = call(&service, M::GET, &query, mallory, None).await;
    assert_eq!(
        (search.status, search.body.as_str()),
        (StatusCode::OK, "[]")
    );
    answers.push(search);

    // No caller, or a forged one: 401, the same answer.
    let anonymous = call(&service, M::GET, alices, None, None).await;
    let forged = call(&service, M::GET, alices, Some("token-alice-forged"), None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous, forged);
    answers.extend([anonymous, forged]);

    // A body that does not parse: a fixed answer, which does not quote what was sent (serde's
    // messages quote an unknown field's name, and a value of the wrong type).
    let mut unknown = profile("Alice", EMAIL, SSN);
    unknown[EMAIL] = json!(1);
    for body in [
        json!({"display_name": 5, "email": EMAIL, "ssn": SSN}),
        unknown,
        json!(SSN),
    ] {
        let answer = call(&service, M::PUT, alices, alice, Some(body)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        answers.push(answer);
    }

    // An SSN whose last four bytes cut a character in two: shown, not a panic.
    let odd = "078-05-é12";
    let put = call(
        &service,
        M::PUT,
        "/users/bob/profile",
        bob,
        Some(profile("Bob", "bob@example.com", odd)),
    )
    .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT);
    let read = call(&service, M::GET, "/users/bob/profile", bob, None).await;
    assert_eq!(read.status, StatusCode::OK, "{read:?}");
    assert!(read.body.contains("\"-é12\""), "{read:?}");

    for answer in &answers {
        no_secret("an answer", &format!("{answer:?}"));
    }
    // The owner deletes her profile; then it is missing for her too.
    let deleted = call(&service, M::DELETE, alices, alice, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = call(&service, M::GET, alices, alice, None).await;
    assert_eq!(
        (gone.status, gone.body),
        (answers[0].status, answers[0].body.clone())
    );

    let log = service.log();
    assert!(
        log.contains("route=/users/{id}/profile"),
        "no request log: {log}"
    );
    assert!(log.contains("crypt_model::access"), "no access log: {log}");
    no_secret("the service's log", &log);
}

#[tokio::test]
async fn in_memory_the_service_answers_foreign_like_missing_and_leaks_nothing() {
    attacks(profiles(&[])).await;
}

#[tokio::test]
async fn on_dynamodb_and_kms_the_service_answers_foreign_like_missing_and_leaks_nothing() {
    attacks(profiles(&["--dynamo", &moto::endpoint()])).await;
}
