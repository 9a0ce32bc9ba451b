//! An HTTP service of user profiles on axum, the way the guide's chapter on HTTP services
//! (`crypt_model::guide::http_services`) builds one: the `Caller` from a verified bearer token,
//! never from the request (an authentication layer puts it in the request's extensions, and
//! crypt-model's `Caller` extractor takes it there: feature `axum`); someone else's profile
//! answered exactly like a missing one; the owner and the table never taken from input; errors
//! answered as `Error::http_answer` says, the one mapping the guide documents, with no value in
//! them; no body and no raw URI logged.
//!
//! ```text
//! GET    /users/{id}/profile            200 the profile (the SSN's last four digits only), or 404
//! PUT    /users/{id}/profile            204; body {"display_name", "email", "ssn"}
//! DELETE /users/{id}/profile            204, or 404
//! GET    /profiles/search?email=…       200 [the caller's profiles with that email]
//! ```
//!
//! Run: `PROFILE_SERVICE_TOKENS=token-a=alice,token-b=bob cargo run --example profile_service`
//! (in memory, with a local key), or with `-- --dynamo http://127.0.0.1:5000` on a local
//! DynamoDB and KMS (moto: a new KMS key and the table `profile-service`, created if missing).
//! It prints `listening on http://ADDRESS` (`PORT`, default: any free port) and logs to stderr.
//! Then `curl -H 'authorization: Bearer token-a' -X PUT -H 'content-type: application/json'
//! -d '{"display_name":"Alice","email":"alice@example.com","ssn":"078-05-1120"}'
//! http://ADDRESS/users/alice/profile`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use crypt_model::{
    Caller, EncryptedItem, IndexSecret, Keys, LocalKeyring, MemoryStore, Sensitive, Store, Table,
    TableRef,
};
use crypt_model_dynamo::{DynamoStore, ProvisionOptions, aws_sdk_dynamodb, provision};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A user's profile. The email is searchable through a blind index; the SSN is only ever shown
/// to its owner, and then only its last four digits.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "user_profiles")]
struct Profile {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive(index = "exact", normalize = "trim_lowercase")]
    email: Sensitive<String>,
    #[sensitive]
    ssn: Sensitive<String>,
    display_name: String,
}

/// The body of a PUT: no owner, no key (those come from the caller and the route), and nothing
/// else (`deny_unknown_fields`: a body naming `user_id` is refused, not ignored).
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct ProfileInput {
    display_name: String,
    email: Sensitive<String>,
    ssn: Sensitive<String>,
}

/// What a client sees of a profile.
#[derive(Serialize)]
struct ProfileView {
    user_id: String,
    display_name: String,
    email: String,
    ssn_last4: String,
}

impl From<Profile> for ProfileView {
    fn from(profile: Profile) -> Self {
        // The last four characters (not bytes: a byte index inside a character would panic, and
        // a panic's message quotes the string).
        let ssn = profile.ssn.expose_secret();
        let last4: String = ssn
            .chars()
            .skip(ssn.chars().count().saturating_sub(4))
            .collect();
        ProfileView {
            ssn_last4: last4,
            email: profile.email.expose_secret().clone(),
            user_id: profile.user_id,
            display_name: profile.display_name,
        }
    }
}

/// The service's state: the table (built once, its name from configuration) and the bearer
/// tokens it accepts. A real service verifies a signed token (a JWT's signature, issuer,
/// audience and expiry) instead of looking it up.
struct App<S> {
    profiles: Table<Profile, S>,
    tokens: HashMap<String, String>,
}

/// The one answer for "no such profile of yours": missing and someone else's alike.
fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"error": "not_found"}))).into_response()
}

fn bad_request() -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": "bad_request"})),
    )
        .into_response()
}

/// The authentication layer: the caller of a request, from its bearer token, put in the
/// request's extensions, where crypt-model's `Caller` extractor (feature `axum`) takes it; 401
/// without a valid token.
async fn authenticate<S: Store + 'static>(
    State(app): State<Arc<App<S>>>,
    mut request: Request,
    next: Next,
) -> Response {
    let user = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .and_then(|token| app.tokens.get(token));
    match user.map(|user| Caller::user(user.as_str())) {
        Some(Ok(caller)) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        _ => {
            let mut response = (
                StatusCode::UNAUTHORIZED,
                Json(json!({"error": "unauthorized"})),
            )
                .into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
    }
}

async fn get_profile<S: Store + 'static>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    let Ok(key) = Profile::key(id) else {
        return not_found();
    };
    match app.profiles.get(&caller, &key).await {
        Ok(Some(profile)) => Json(ProfileView::from(profile)).into_response(),
        // Missing, or someone else's: the library does not say which, and neither do we.
        Ok(None) => not_found(),
        Err(error) => error.into_response(),
    }
}

async fn put_profile<S: Store + 'static>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Path(id): Path<String>,
    input: Result<Json<ProfileInput>, JsonRejection>,
) -> Response {
    // A body that does not parse gets a fixed answer: serde's message may quote the values.
    let Ok(Json(input)) = input else {
        return bad_request();
    };
    // The key (and owner) comes from the route; the library refuses a record whose owner is not
    // the caller, which answers as a missing one.
    let mut profile = Profile {
        user_id: id,
        email: input.email,
        ssn: input.ssn,
        display_name: input.display_name,
    };
    match app.profiles.put(&caller, &mut profile).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error.into_response(),
    }
}

async fn delete_profile<S: Store + 'static>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    let Ok(key) = Profile::key(id) else {
        return not_found();
    };
    match app.profiles.delete(&caller, &key).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => not_found(),
        Err(error) => error.into_response(),
    }
}

#[derive(Deserialize)]
struct Search {
    email: String,
}

async fn search<S: Store + 'static>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    search: Result<Query<Search>, QueryRejection>,
) -> Response {
    let Ok(Query(search)) = search else {
        return bad_request();
    };
    let lookup = match Profile::by_email(search.email) {
        Ok(lookup) => lookup,
        Err(error) => return error.into_response(),
    };
    // Only the caller's own profiles come back: an index hit on another owner's record is
    // dropped before it is decrypted.
    match app.profiles.find(&caller, &lookup).await {
        Ok(found) => {
            Json(found.into_iter().map(ProfileView::from).collect::<Vec<_>>()).into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// The routes, and a log line per request with the route's template, never the URI (it holds
/// the key) nor a body.
fn router<S: Store + 'static>(app: App<S>) -> Router {
    let app = Arc::new(app);
    Router::new()
        .route(
            "/users/{id}/profile",
            get(get_profile::<S>)
                .put(put_profile::<S>)
                .delete(delete_profile::<S>),
        )
        .route("/profiles/search", get(search::<S>))
        .route_layer(axum::middleware::from_fn_with_state(
            app.clone(),
            authenticate::<S>,
        ))
        .layer(axum::middleware::from_fn(
            |request: axum::extract::Request, next: axum::middleware::Next| async move {
                let method = request.method().clone();
                let route = request
                    .extensions()
                    .get::<axum::extract::MatchedPath>()
                    .map_or("unmatched", |path| path.as_str())
                    .to_owned();
                let response = next.run(request).await;
                tracing::info!(%method, %route, status = response.status().as_u16(), "request");
                response
            },
        ))
        .with_state(app)
}

/// `PROFILE_SERVICE_TOKENS=token=user,…`.
fn tokens() -> HashMap<String, String> {
    std::env::var("PROFILE_SERVICE_TOKENS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(token, user)| (token.to_owned(), user.to_owned()))
        .collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let tokens = tokens();
    if tokens.is_empty() {
        eprintln!("set PROFILE_SERVICE_TOKENS=token=user,… (the bearer tokens to accept)");
        std::process::exit(2);
    }
    // A process-local index secret keeps the example self-contained; a real service keeps it
    // wrapped by KMS (`IndexSecret::generate_wrapped`), the same across its instances.
    let index_secret = IndexSecret::generate()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port())).await?;
    let routes = match crypt_model_aws_examples::dynamo_endpoint() {
        None => {
            let keys = Keys::new(LocalKeyring::generate()?).with_index_secret(index_secret);
            let profiles = Table::new(MemoryStore::new(), Arc::new(keys))?;
            router(App { profiles, tokens })
        }
        Some(endpoint) => {
            let config = crypt_model_aws_examples::local_config(&endpoint).await;
            let keyring = crypt_model_aws_examples::new_kms_keyring(&config).await?;
            let keys = Keys::new(keyring).with_index_secret(index_secret);
            // The physical table: configuration, never input.
            let table = TableRef::for_schema("profile-service", &Profile::SCHEMA)?;
            let dynamo = aws_sdk_dynamodb::Client::new(&config);
            provision(&dynamo, &table, ProvisionOptions::default()).await?;
            let store = DynamoStore::new(dynamo);
            let profiles = Table::named(store, Arc::new(keys), table.name())?;
            router(App { profiles, tokens })
        }
    };
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, routes).await?;
    Ok(())
}

fn port() -> u16 {
    std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}
