//! A fault-injecting HTTP proxy on loopback, between the SDK clients and the local DynamoDB/KMS
//! server (moto): HTTP 500 and 503, throttling, a connection reset before the request reaches
//! the server or after it was applied, latency, BatchWriteItem results left partly unprocessed,
//! KMS requests failing now and then, and a KMS outage. Faults are drawn from a seeded
//! generator, so a failing run can be replayed; every request and every fault is counted.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use crypt_model_tests::draw::Draw;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};

/// How often each fault is injected into DynamoDB requests (each a probability, together at
/// most 1), how often a KMS request fails, and whether KMS is down.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// HTTP 500 InternalServerError, the request not forwarded.
    pub error_500: f64,
    /// HTTP 503 ServiceUnavailable, the request not forwarded.
    pub error_503: f64,
    /// HTTP 400 ProvisionedThroughputExceededException, the request not forwarded.
    pub throttle: f64,
    /// The connection closed before the request is forwarded.
    pub reset_before: f64,
    /// The request forwarded and applied, then the connection closed before the response.
    pub reset_after: f64,
    /// A BatchWriteItem forwarded with half its items, the rest answered as unprocessed.
    pub partial_batch: f64,
    /// Up to this much latency added to each request.
    pub latency: Duration,
    /// Every KMS request fails: a 500 KMSInternalException or a reset connection.
    pub kms_down: bool,
    /// A KMS request fails with this probability: a 500 KMSInternalException, a 400
    /// ThrottlingException or a reset connection, a third each.
    pub kms_error: f64,
}

/// What the proxy saw and did.
#[derive(Debug, Default)]
pub struct Counts {
    /// Requests by operation (`DynamoDB_20120810.PutItem`, `TrentService.GenerateDataKey`).
    pub requests: BTreeMap<String, u64>,
    /// Faults injected, by kind.
    pub faults: BTreeMap<&'static str, u64>,
}

struct State {
    faults: Faults,
    rng: Draw,
    counts: Counts,
}

/// The proxy, serving until dropped.
pub struct FaultProxy {
    /// Its endpoint, for the SDK clients (`http://127.0.0.1:PORT`).
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// A proxy to `upstream`, injecting no fault until told, drawing faults from `seed`.
    pub async fn start(upstream: &str, seed: u64) -> FaultProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            faults: Faults::default(),
            rng: Draw(seed),
            counts: Counts::default(),
        }));
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let upstream: Arc<str> = Arc::from(upstream.trim_end_matches('/'));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (state, client, upstream) = (shared.clone(), client.clone(), upstream.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        handle(request, state.clone(), client.clone(), upstream.clone())
                    });
                    // A connection the proxy resets ends here with an error: that is the fault.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FaultProxy {
            endpoint,
            state,
            task,
        }
    }

    /// Injects `faults` from now on.
    pub fn set(&self, faults: Faults) {
        self.state.lock().unwrap().faults = faults;
    }

    /// What the proxy has seen and done so far.
    pub fn counts(&self) -> Counts {
        let state = self.state.lock().unwrap();
        Counts {
            requests: state.counts.requests.clone(),
            faults: state.counts.faults.clone(),
        }
    }
}

/// What to do with one request.
enum Action {
    Forward,
    Respond(StatusCode, Value),
    ResetBefore,
    ResetAfter,
    PartialBatch,
}

fn decide(state: &mut State, operation: &str) -> (Action, Duration) {
    *state
        .counts
        .requests
        .entry(operation.to_owned())
        .or_default() += 1;
    let faults = state.faults.clone();
    let latency = faults.latency.mul_f64(state.rng.fraction());
    let mut count = |kind: &'static str| *state.counts.faults.entry(kind).or_default() += 1;
    if operation.starts_with("TrentService.") {
        if faults.kms_down {
            count("kms_down");
            return if state.rng.fraction() < 0.5 {
                let body = json!({"__type": "KMSInternalException", "message": "injected"});
                (
                    Action::Respond(StatusCode::INTERNAL_SERVER_ERROR, body),
                    latency,
                )
            } else {
                (Action::ResetBefore, latency)
            };
        }
        if state.rng.fraction() < faults.kms_error {
            let kms_error = |name: &str| json!({"__type": name, "message": "injected"});
            return match state.rng.below(3) {
                0 => {
                    count("kms_http_500");
                    (
                        Action::Respond(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            kms_error("KMSInternalException"),
                        ),
                        latency,
                    )
                }
                1 => {
                    count("kms_throttled");
                    (
                        Action::Respond(StatusCode::BAD_REQUEST, kms_error("ThrottlingException")),
                        latency,
                    )
                }
                _ => {
                    count("kms_reset");
                    (Action::ResetBefore, latency)
                }
            };
        }
        return (Action::Forward, latency);
    }
    let draw = state.rng.fraction();
    let error = |name: &str| json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{name}"), "message": "injected"});
    let mut edge = 0.0;
    let mut hit = |p: f64| {
        edge += p;
        draw < edge
    };
    let action = if hit(faults.error_500) {
        count("http_500");
        Action::Respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            error("InternalServerError"),
        )
    } else if hit(faults.error_503) {
        count("http_503");
        Action::Respond(StatusCode::SERVICE_UNAVAILABLE, error("ServiceUnavailable"))
    } else if hit(faults.throttle) {
        count("throttled");
        Action::Respond(
            StatusCode::BAD_REQUEST,
            error("ProvisionedThroughputExceededException"),
        )
    } else if hit(faults.reset_before) {
        count("reset_before_request");
        Action::ResetBefore
    } else if hit(faults.reset_after) {
        count("reset_after_apply");
        Action::ResetAfter
    } else if operation.ends_with(".BatchWriteItem") && hit(faults.partial_batch) {
        count("partial_batch");
        Action::PartialBatch
    } else {
        Action::Forward
    };
    (action, latency)
}

/// A failure the connection ends with (the client sees a reset or an incomplete message).
#[derive(Debug)]
struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by the fault proxy")
    }
}

impl std::error::Error for Reset {}

async fn handle(
    request: Request<Incoming>,
    state: Arc<Mutex<State>>,
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: Arc<str>,
) -> Result<Response<Full<Bytes>>, Reset> {
    let operation = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(none)")
        .to_owned();
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(|_| Reset)?.to_bytes();
    let (action, latency) = decide(&mut state.lock().unwrap(), &operation);
    tokio::time::sleep(latency).await;
    let forward = |body: Bytes| {
        let mut builder = Request::builder().method(parts.method.clone()).uri(format!(
            "{upstream}{}",
            parts.uri.path_and_query().map_or("/", |p| p.as_str())
        ));
        // Every header but the length, which is the body's (a trimmed batch is shorter).
        for (name, value) in &parts.headers {
            if name != hyper::header::CONTENT_LENGTH {
                builder = builder.header(name, value);
            }
        }
        let request = builder.body(Full::new(body)).unwrap();
        let client = client.clone();
        async move {
            let response = client.request(request).await.map_err(|_| Reset)?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map_err(|_| Reset)?.to_bytes();
            Ok::<_, Reset>((parts, body))
        }
    };
    match action {
        Action::Respond(status, body) => Ok(Response::builder()
            .status(status)
            .header("content-type", "application/x-amz-json-1.0")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap()),
        Action::ResetBefore => Err(Reset),
        Action::ResetAfter => {
            forward(body).await?;
            Err(Reset)
        }
        Action::Forward => {
            let (parts, body) = forward(body).await?;
            Ok(Response::from_parts(parts, Full::new(body)))
        }
        Action::PartialBatch => {
            let mut request: Value = serde_json::from_slice(&body).map_err(|_| Reset)?;
            let mut held = serde_json::Map::new();
            if let Some(tables) = request["RequestItems"].as_object_mut() {
                for (table, writes) in tables.iter_mut() {
                    if let Some(writes) = writes.as_array_mut() {
                        let rest = writes.split_off(writes.len() / 2);
                        held.insert(table.clone(), Value::Array(rest));
                    }
                }
                tables.retain(|_, writes| writes.as_array().is_some_and(|w| !w.is_empty()));
            }
            let (parts, body) = if request["RequestItems"]
                .as_object()
                .is_some_and(|t| !t.is_empty())
            {
                forward(Bytes::from(request.to_string())).await?
            } else {
                let response = Response::new(());
                let (parts, ()) = response.into_parts();
                (parts, Bytes::from_static(b"{}"))
            };
            let mut answer: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
            let unprocessed = answer
                .as_object_mut()
                .unwrap()
                .entry("UnprocessedItems")
                .or_insert(json!({}));
            for (table, rest) in held {
                let list = unprocessed
                    .as_object_mut()
                    .unwrap()
                    .entry(table)
                    .or_insert(json!([]));
                list.as_array_mut()
                    .unwrap()
                    .extend(rest.as_array().unwrap().iter().cloned());
            }
            let mut response =
                Response::from_parts(parts, Full::new(Bytes::from(answer.to_string())));
            response.headers_mut().remove("content-length");
            response.headers_mut().remove("x-amz-crc32");
            Ok(response)
        }
    }
}
