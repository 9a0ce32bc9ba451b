//! What a team pays per request: the clinic's `GET` and `PUT` of a patient over loopback HTTP
//! (axum, `MemoryStore`), the same handlers with crypt-model (sealed records, the gate, the
//! `Caller` extractor) and storing plain items (the patient as a `SerdeAttribute`, as
//! serde_dynamo lays it out, no encryption, no access check). A bounded load generator (a fixed
//! number of client tasks, each sending one request at a time over a kept-alive connection) runs
//! for a fixed time per case; it prints requests per second and the 50th and 99th percentile
//! latencies, the CPU time per request (servers and generator together), and the ratios
//! (docs/performance.md reports them).
//!
//! Run: `cargo bench -p crypt-model-tests --bench clinic_load` (`CLINIC_LOAD_SECONDS`, default
//! 10 per case; `CLINIC_LOAD_CLIENTS`, default 4; `CLINIC_LOAD_ONLY=GET` or `PUT` for one request,
//! `CLINIC_LOAD_SERVICE=plain` or `crypt-model` for one service, to profile it alone;
//! `CLINIC_LOAD_ROUNDS`, default 10: the services take turns). Run by
//! `cargo test` (as `scripts/test` does, without `--bench`), it is a smoke test: a quarter of a
//! second per case.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use crypt_model::attribute::Attribute;
use crypt_model::{
    AttributeValue, Caller, EncryptedItem, Item, Key, Keys, LocalKeyring, MemoryStore, Sensitive,
    Store, Table, TableRef,
};
use serde::{Deserialize, Serialize};

/// The patient, sealed: the diagnosis encrypted, the doctor a delegate.
#[derive(EncryptedItem)]
#[crypt_model(table = "load_patients")]
struct Patient {
    #[partition_key]
    #[owner]
    patient_id: String,
    name: String,
    #[delegate]
    doctor_id: String,
    clinic_id: String,
    #[sensitive]
    diagnosis: Sensitive<String>,
}

/// The same patient, stored plain.
#[derive(Serialize, Deserialize, crypt_model::SerdeAttribute, Clone)]
struct PlainPatient {
    patient_id: String,
    name: String,
    doctor_id: String,
    clinic_id: String,
    diagnosis: String,
}

/// The body of a PUT and of a GET's answer, in both services.
#[derive(Serialize, Deserialize)]
struct Body {
    name: String,
    doctor_id: String,
    clinic_id: String,
    diagnosis: String,
}

/// The caller, from the bearer token (`Bearer user:ID`), into the request's extensions.
async fn authenticate(mut request: Request, next: Next) -> Response {
    let caller = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer user:"))
        .and_then(|id| Caller::user(id).ok());
    match caller {
        Some(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn sealed_get(
    State(table): State<Arc<Table<Patient, MemoryStore>>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    match table.get(&caller, &Patient::key(id).unwrap()).await {
        Ok(Some(p)) => Json(Body {
            diagnosis: p.diagnosis.expose_secret().clone(),
            name: p.name,
            doctor_id: p.doctor_id,
            clinic_id: p.clinic_id,
        })
        .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => error.into_response(),
    }
}

async fn sealed_put(
    State(table): State<Arc<Table<Patient, MemoryStore>>>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<Body>,
) -> Response {
    let mut patient = Patient {
        patient_id: id,
        name: body.name,
        doctor_id: body.doctor_id,
        clinic_id: body.clinic_id,
        diagnosis: Sensitive::new(body.diagnosis),
    };
    match table.put(&caller, &mut patient).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error.into_response(),
    }
}

/// The plain service's table: the store and the table's name.
type Plain = Arc<(MemoryStore, TableRef)>;

async fn plain_get(State(plain): State<Plain>, Path(id): Path<String>) -> Response {
    let (store, table) = &*plain;
    match store.get(table, &Key::new(id)).await {
        Ok(Some(item)) => {
            let p = PlainPatient::from_attribute(AttributeValue::M(item.into_iter().collect()))
                .unwrap();
            Json(Body {
                name: p.name,
                doctor_id: p.doctor_id,
                clinic_id: p.clinic_id,
                diagnosis: p.diagnosis,
            })
            .into_response()
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => error.into_response(),
    }
}

async fn plain_put(
    State(plain): State<Plain>,
    Path(id): Path<String>,
    Json(body): Json<Body>,
) -> Response {
    let (store, table) = &*plain;
    let patient = PlainPatient {
        patient_id: id,
        name: body.name,
        doctor_id: body.doctor_id,
        clinic_id: body.clinic_id,
        diagnosis: body.diagnosis,
    };
    let AttributeValue::M(map) = patient.to_attribute().unwrap() else {
        panic!("a struct is a map")
    };
    let item: Item = map.into_iter().collect();
    match store
        .put(table, item, &crypt_model::store::Condition::Always)
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error.into_response(),
    }
}

/// Serves `router` on a free loopback port; its URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

const PATIENTS: usize = 1_000;

fn body(i: usize) -> serde_json::Value {
    serde_json::json!({
        "name": format!("Patient {i}"), "doctor_id": "dr-a", "clinic_id": "riverside",
        "diagnosis": format!("diagnosis of patient {i}: hypertension, controlled"),
    })
}

/// Stores every patient through the service at `url`, before anything is measured.
async fn populate(url: &str) {
    let client = reqwest::Client::new();
    for patient in 0..PATIENTS {
        let response = client
            .put(format!("{url}/patients/p{patient:04}"))
            .bearer_auth(format!("user:p{patient:04}"))
            .json(&body(patient))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }
}

/// The latencies of `clients` tasks sending `GET`s (or `PUT`s) of the patients for `time`, and
/// the time they took.
async fn load(url: &str, put: bool, clients: usize, time: Duration) -> (Vec<Duration>, f64) {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let url = url.to_owned();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut latencies = Vec::new();
            let mut i = c;
            while started.elapsed() < time {
                let patient = i % PATIENTS;
                let path = format!("{url}/patients/p{patient:04}");
                let request = if put {
                    client.put(&path).json(&body(patient))
                } else {
                    client.get(&path)
                };
                let sent = Instant::now();
                let response = request
                    .bearer_auth(format!("user:p{patient:04}"))
                    .send()
                    .await
                    .unwrap();
                let ok = response.status().is_success();
                let _ = response.bytes().await.unwrap();
                latencies.push(sent.elapsed());
                assert!(ok, "a request failed");
                i += clients;
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    (latencies, started.elapsed().as_secs_f64())
}

/// The CPU time this process has used, servers and load generator together (Linux's
/// `/proc/self/stat`, in ticks of 10 ms).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// What one service did over the rounds of a case.
#[derive(Default)]
struct Served {
    latencies: Vec<Duration>,
    seconds: f64,
    /// Requests per second in each round.
    rates: Vec<f64>,
    /// CPU seconds used, and requests served.
    cpu: f64,
}

impl Served {
    /// Runs one round of `load` and keeps what it measured.
    async fn round(&mut self, load: impl Future<Output = (Vec<Duration>, f64)>) {
        let cpu = cpu_seconds();
        let (latencies, seconds) = load.await;
        self.cpu += cpu_seconds() - cpu;
        self.rates.push(latencies.len() as f64 / seconds);
        self.seconds += seconds;
        self.latencies.extend(latencies);
    }

    /// CPU time per request, client included, in µs.
    fn cpu_per_request(&self) -> f64 {
        self.cpu / self.latencies.len().max(1) as f64 * 1e6
    }

    /// Requests per second over every round, p50 and p99.
    fn figures(&mut self) -> (f64, Duration, Duration) {
        if self.latencies.is_empty() {
            return (0.0, Duration::ZERO, Duration::ZERO);
        }
        self.latencies.sort();
        let at = |q: f64| self.latencies[((self.latencies.len() - 1) as f64 * q) as usize];
        (
            self.latencies.len() as f64 / self.seconds,
            at(0.50),
            at(0.99),
        )
    }
}

/// The middle value of `values`.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let number = |name: &str, default: f64| -> f64 {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let seconds = number("CLINIC_LOAD_SECONDS", if measuring { 10.0 } else { 0.25 });
    let clients = number("CLINIC_LOAD_CLIENTS", 4.0) as usize;
    let rounds = number("CLINIC_LOAD_ROUNDS", if measuring { 10.0 } else { 1.0 }).max(1.0) as u32;
    let time = Duration::from_secs_f64(seconds);

    let keys = Arc::new(Keys::new(LocalKeyring::generate().unwrap()));
    let table = Arc::new(Table::<Patient, _>::new(MemoryStore::new(), keys).unwrap());
    let sealed = Router::new()
        .route("/patients/{id}", get(sealed_get).put(sealed_put))
        .route_layer(axum::middleware::from_fn(authenticate))
        .with_state(table);
    let plain_table = TableRef::new("load_plain", "patient_id", None).unwrap();
    let plain = Router::new()
        .route("/patients/{id}", get(plain_get).put(plain_put))
        .route_layer(axum::middleware::from_fn(authenticate))
        .with_state(Arc::new((MemoryStore::new(), plain_table)));
    let (sealed, plain) = (serve(sealed).await, serve(plain).await);
    populate(&sealed).await;
    populate(&plain).await;

    println!(
        "clinic load: {clients} clients, {seconds} s per case and service in {rounds} rounds, \
         MemoryStore over loopback HTTP"
    );
    let only = std::env::var("CLINIC_LOAD_ONLY").ok();
    let service = std::env::var("CLINIC_LOAD_SERVICE").ok();
    let run = |name: &str| service.as_deref().is_none_or(|s| s == name);
    // The machine drifts by more than the difference measured: the two services take turns in
    // short rounds (the one that starts alternating), and the throughput kept is the median of
    // the rounds' ratios.
    let round = time / rounds;
    let mut rows = Vec::new();
    for (put, what) in [(false, "GET"), (true, "PUT")] {
        if only.as_deref().is_some_and(|only| only != what) {
            continue;
        }
        let (mut plain_served, mut sealed_served) = (Served::default(), Served::default());
        for r in 0..rounds {
            let mut turns = [
                ("plain", &plain, &mut plain_served),
                ("crypt-model", &sealed, &mut sealed_served),
            ];
            if r % 2 == 1 {
                turns.reverse();
            }
            for (name, url, served) in turns {
                if run(name) {
                    served.round(load(url, put, clients, round)).await;
                }
            }
        }
        let ratios: Vec<f64> = (plain_served.rates.iter().zip(&sealed_served.rates))
            .map(|(plain, sealed)| sealed / plain)
            .collect();
        let (plain_cpu, cpu) = (
            plain_served.cpu_per_request(),
            sealed_served.cpu_per_request(),
        );
        let (plain_rate, plain_p50, plain_p99) = plain_served.figures();
        let (rate, p50, p99) = sealed_served.figures();
        println!(
            "{what} plain:       {plain_rate:>8.0} req/s  p50 {:>7.1} µs  p99 {:>7.1} µs  \
             CPU {plain_cpu:>5.1} µs/request",
            plain_p50.as_secs_f64() * 1e6,
            plain_p99.as_secs_f64() * 1e6
        );
        println!(
            "{what} crypt-model: {rate:>8.0} req/s  p50 {:>7.1} µs  p99 {:>7.1} µs  \
             CPU {cpu:>5.1} µs/request ({:+.1} %)",
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6,
            (cpu / plain_cpu - 1.0) * 100.0
        );
        if !ratios.is_empty() {
            let spread = ratios
                .iter()
                .copied()
                .fold((f64::MAX, f64::MIN), |(lo, hi), r| (lo.min(r), hi.max(r)));
            rows.push((
                what,
                median(ratios),
                spread,
                p99.as_secs_f64() / plain_p99.as_secs_f64(),
            ));
        }
    }
    for (what, throughput, (lo, hi), p99) in rows {
        println!(
            "{what}: crypt-model keeps {:.1} % of the plain throughput (median of the rounds; \
             {:.1}–{:.1} %); its p99 is {:+.1} %",
            throughput * 100.0,
            lo * 100.0,
            hi * 100.0,
            (p99 - 1.0) * 100.0
        );
    }
}
