//! A clinic's patient records over HTTP on axum, as the guide's chapter "Access beyond the owner"
//! (`crypt_model::guide::access_beyond_the_owner`) builds them: a patient owns their record, their
//! doctor reads and updates it (a delegation, decided on the stored record before any key), the
//! front desk of their clinic reads what it needs (a grant narrowed within the clinic), and
//! everyone else — another patient, another doctor, another clinic's desk — gets the answer a
//! missing record gets.
//!
//! ```text
//! PUT  /patients/{id}                 204   the patient: body {"name", "doctor_id", "clinic_id", "diagnosis"}
//! GET  /patients/{id}                 200   the patient or their doctor: the whole record;
//!                                           their clinic's desk: name and clinic only; else 404
//! PUT  /patients/{id}/diagnosis       204   the patient or their doctor: body {"diagnosis"}; else 404
//! GET  /doctors/me/patients           200   the calling doctor's patients (404 to a service)
//! ```
//!
//! Run: `CLINIC_SERVICE_TOKENS=t-ann=user:ann,t-okafor=user:dr-okafor,t-desk=desk:riverside
//! cargo run --example clinic_service` (in memory), or with `-- --dynamo http://127.0.0.1:5000`
//! on a local DynamoDB and KMS (moto: a new KMS key and the table `clinic-service`). A token
//! names a person (`user:ID`) or a clinic's front desk (`desk:CLINIC`). It prints `listening on
//! http://ADDRESS` and logs to stderr.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use crypt_model::{
    Caller, EncryptedItem, Grant, Keys, LocalKeyring, MemoryStore, Sensitive, Store, Table,
    TableRef,
};
use crypt_model_dynamo::{DynamoStore, ProvisionOptions, aws_sdk_dynamodb, provision};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A patient's record: theirs; their doctor's to read and update; their clinic's desk's to read.
#[derive(EncryptedItem)]
#[crypt_model(table = "patients", index(name = "by_doctor", partition = "doctor_id"))]
struct Patient {
    #[partition_key]
    #[owner]
    patient_id: String,
    #[crypt_model(version)]
    version: u64,
    name: String,
    #[delegate(write)]
    doctor_id: String,
    clinic_id: String,
    #[sensitive]
    diagnosis: Sensitive<String>,
}

/// The body of a patient's PUT: no id (the route's) and nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatientInput {
    name: String,
    doctor_id: String,
    clinic_id: String,
    diagnosis: Sensitive<String>,
}

/// The body of a doctor's diagnosis.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiagnosisInput {
    diagnosis: Sensitive<String>,
}

/// What the patient and their doctor see.
#[derive(Serialize)]
struct Chart {
    patient_id: String,
    name: String,
    doctor_id: String,
    clinic_id: String,
    diagnosis: String,
}

/// What the front desk sees: no health data.
#[derive(Serialize)]
struct Front {
    patient_id: String,
    name: String,
    clinic_id: String,
}

struct App<S> {
    patients: Table<Patient, S>,
    /// Bearer token → the caller it authenticates. A real service verifies a signed token.
    tokens: HashMap<String, Caller>,
}

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

/// The authentication layer: the verified caller into the request's extensions (crypt-model's
/// `Caller` extractor takes it there); 401 without a valid token.
async fn authenticate<S: Store + 'static>(
    State(app): State<Arc<App<S>>>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .and_then(|token| app.tokens.get(token))
        .cloned();
    match caller {
        Some(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        None => {
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

async fn put_patient<S: Store + 'static>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Path(id): Path<String>,
    input: Result<Json<PatientInput>, JsonRejection>,
) -> Response {
    let Ok(Json(input)) = input else {
        return bad_request();
    };
    // The owner comes from the route: the library refuses a record that is not the caller's
    // (answered as a missing one). Creating and replacing is the patient's: a doctor updates.
    let mut patient = Patient {
        patient_id: id.clone(),
        version: 0,
        name: input.name,
        doctor_id: input.doctor_id,
        clinic_id: input.clinic_id,
        diagnosis: input.diagnosis,
    };
    if let Ok(key) = Patient::key(id) {
        match app.patients.get(&caller, &key).await {
            Ok(Some(stored)) => patient.version = stored.version,
            Ok(None) => {}
            Err(error) => return error.into_response(),
        }
    }
    match app.patients.put(&caller, &mut patient).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error.into_response(),
    }
}

async fn get_patient<S: Store + 'static>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    let Ok(key) = Patient::key(id) else {
        return not_found();
    };
    match app.patients.get(&caller, &key).await {
        // A service (the desk, within its clinic) sees what a desk needs.
        Ok(Some(patient)) if caller.is_service() => Json(Front {
            patient_id: patient.patient_id,
            name: patient.name,
            clinic_id: patient.clinic_id,
        })
        .into_response(),
        Ok(Some(patient)) => Json(chart(patient)).into_response(),
        Ok(None) => not_found(),
        Err(error) => error.into_response(),
    }
}

fn chart(patient: Patient) -> Chart {
    Chart {
        diagnosis: patient.diagnosis.expose_secret().clone(),
        patient_id: patient.patient_id,
        name: patient.name,
        doctor_id: patient.doctor_id,
        clinic_id: patient.clinic_id,
    }
}

async fn put_diagnosis<S: Store + 'static>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Path(id): Path<String>,
    input: Result<Json<DiagnosisInput>, JsonRejection>,
) -> Response {
    let Ok(Json(input)) = input else {
        return bad_request();
    };
    let Ok(key) = Patient::key(id) else {
        return not_found();
    };
    let mut patient = match app.patients.get(&caller, &key).await {
        Ok(Some(patient)) => patient,
        Ok(None) => return not_found(),
        Err(error) => return error.into_response(),
    };
    patient.diagnosis = input.diagnosis;
    match app
        .patients
        .update(&caller, &mut patient, &[Patient::DIAGNOSIS])
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error.into_response(),
    }
}

async fn my_patients<S: Store + 'static>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
) -> Response {
    // A doctor's list: a service (the desk) has no patients of its own, whatever a record's
    // `doctor_id` says.
    if caller.is_service() {
        return not_found();
    }
    let query = match Patient::by_doctor(caller.id().to_owned()) {
        Ok(query) => query,
        Err(error) => return error.into_response(),
    };
    // Only the records that name the caller as their doctor open; the index's other entries
    // (there are none under another doctor's id, but a raw writer could plant some) are left out.
    match app.patients.query_all(&caller, query).await {
        Ok(patients) => Json(patients.into_iter().map(chart).collect::<Vec<_>>()).into_response(),
        Err(error) => error.into_response(),
    }
}

fn router<S: Store + 'static>(app: App<S>) -> Router {
    let app = Arc::new(app);
    Router::new()
        .route(
            "/patients/{id}",
            get(get_patient::<S>).put(put_patient::<S>),
        )
        .route("/patients/{id}/diagnosis", put(put_diagnosis::<S>))
        .route("/doctors/me/patients", get(my_patients::<S>))
        .route_layer(axum::middleware::from_fn_with_state(
            app.clone(),
            authenticate::<S>,
        ))
        .layer(axum::middleware::from_fn(
            |request: Request, next: Next| async move {
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

/// `CLINIC_SERVICE_TOKENS=token=user:ID|desk:CLINIC,…`.
fn tokens() -> Result<HashMap<String, Caller>, crypt_model::Error> {
    let mut tokens = HashMap::new();
    let configured = std::env::var("CLINIC_SERVICE_TOKENS").unwrap_or_default();
    for (token, who) in configured
        .split(',')
        .filter_map(|pair| pair.split_once('='))
    {
        let caller = match who.split_once(':') {
            Some(("user", id)) => Caller::user(id)?,
            Some(("desk", clinic)) => Caller::service_within("front-desk", clinic)?,
            _ => continue,
        };
        tokens.insert(token.to_owned(), caller);
    }
    Ok(tokens)
}

/// The table of patients on `store`, with the front desk's grant narrowed within the clinic.
fn patients<S: Store>(store: S, keys: Keys, name: &str) -> crypt_model::Result<Table<Patient, S>> {
    Ok(Table::named(store, Arc::new(keys), name)?
        .with_grant(Grant::read("front-desk")?.within("clinic_id")?))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let tokens = tokens()?;
    if tokens.is_empty() {
        eprintln!("set CLINIC_SERVICE_TOKENS=token=user:ID|desk:CLINIC,… (the tokens to accept)");
        std::process::exit(2);
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let routes = match crypt_model_aws_examples::dynamo_endpoint() {
        None => {
            let keys = Keys::new(LocalKeyring::generate()?);
            router(App {
                patients: patients(MemoryStore::new(), keys, "patients")?,
                tokens,
            })
        }
        Some(endpoint) => {
            let config = crypt_model_aws_examples::local_config(&endpoint).await;
            let keyring = crypt_model_aws_examples::new_kms_keyring(&config).await?;
            // The physical table: configuration, never input.
            let table = TableRef::for_schema(&table_name(), &Patient::SCHEMA)?;
            let dynamo = aws_sdk_dynamodb::Client::new(&config);
            provision(&dynamo, &table, ProvisionOptions::default()).await?;
            let store = DynamoStore::new(dynamo);
            router(App {
                patients: patients(store, Keys::new(keyring), table.name())?,
                tokens,
            })
        }
    };
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, routes).await?;
    Ok(())
}

/// `CLINIC_SERVICE_TABLE`, or `clinic-service`.
fn table_name() -> String {
    std::env::var("CLINIC_SERVICE_TABLE").unwrap_or_else(|_| "clinic-service".to_owned())
}
