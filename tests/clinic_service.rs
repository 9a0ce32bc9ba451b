//! `examples/aws/clinic_service.rs` over real HTTP (reqwest), in memory and on moto, with the
//! attacks on access beyond the owner: another patient's record, another doctor's patient, another
//! clinic's desk, a doctor replacing a record, a delegation forged by a raw write to the table
//! (on DynamoDB, where the test can write raw); every refused answer equal to a missing record's,
//! and no diagnosis in any answer to someone who may not read it, or in the service's log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod moto;

use crypt_model_tests::service::Service;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const ANN: &str = "ann's diagnosis 41c7";
const BEN: &str = "ben's diagnosis 9e02";

/// The clinic service with `args`, on `table`, accepting a token for each of the tests' callers.
fn clinic(args: &[&str], table: &str) -> Service {
    let tokens = "t-ann=user:ann,t-ben=user:ben,t-dra=user:dr-a,t-drb=user:dr-b,\
                  t-desk1=desk:clinic-1,t-desk2=desk:clinic-2";
    let env = [
        ("CLINIC_SERVICE_TOKENS", tokens),
        ("CLINIC_SERVICE_TABLE", table),
    ];
    Service::start("clinic_service", args, &env)
}

/// Status and body.
async fn call(
    service: &Service,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, String) {
    let mut request = Client::new()
        .request(method, format!("{}{path}", service.url))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

fn record(doctor: &str, clinic: &str, diagnosis: &str) -> Value {
    json!({"name": "N", "doctor_id": doctor, "clinic_id": clinic, "diagnosis": diagnosis})
}

/// The scenario; `forge` (on DynamoDB) names dr-a as ben's doctor by a raw write first.
async fn attacks(service: Service, forge: Option<Box<dyn Fn() + '_>>) {
    use Method as M;
    let ok = |(status, _): &(StatusCode, String)| *status == StatusCode::NO_CONTENT;
    assert!(ok(&call(
        &service,
        M::PUT,
        "/patients/ann",
        "t-ann",
        Some(record("dr-a", "clinic-1", ANN))
    )
    .await));
    assert!(ok(&call(
        &service,
        M::PUT,
        "/patients/ben",
        "t-ben",
        Some(record("dr-b", "clinic-2", BEN))
    )
    .await));
    let missing = call(&service, M::GET, "/patients/nobody", "t-dra", None).await;
    assert_eq!(missing.0, StatusCode::NOT_FOUND);
    let mut refused = Vec::new();

    // The patient reads their own chart; another patient gets what a missing record gets.
    let own = call(&service, M::GET, "/patients/ann", "t-ann", None).await;
    assert_eq!(own.0, StatusCode::OK);
    assert!(own.1.contains(ANN), "{own:?}");
    refused.push(call(&service, M::GET, "/patients/ann", "t-ben", None).await);

    // Their doctor reads the chart and updates the diagnosis; another doctor gets a missing
    // record, for reading and for writing.
    let chart = call(&service, M::GET, "/patients/ann", "t-dra", None).await;
    assert_eq!(chart.0, StatusCode::OK);
    assert!(chart.1.contains(ANN), "{chart:?}");
    refused.push(call(&service, M::GET, "/patients/ann", "t-drb", None).await);
    let diagnosis = |text: &str| Some(json!({"diagnosis": text}));
    assert!(ok(&call(
        &service,
        M::PUT,
        "/patients/ann/diagnosis",
        "t-dra",
        diagnosis("revised 41c7")
    )
    .await));
    refused.push(
        call(
            &service,
            M::PUT,
            "/patients/ann/diagnosis",
            "t-drb",
            diagnosis("by dr-b"),
        )
        .await,
    );
    // A doctor replaces no record (delegates write through updates), nor names another doctor.
    refused.push(
        call(
            &service,
            M::PUT,
            "/patients/ann",
            "t-dra",
            Some(record("dr-b", "clinic-1", "x")),
        )
        .await,
    );
    let after = call(&service, M::GET, "/patients/ann", "t-ann", None).await;
    assert!(
        after.1.contains("revised 41c7") && after.1.contains("dr-a"),
        "{after:?}"
    );

    // Each doctor's list holds their own patients.
    let list = call(&service, M::GET, "/doctors/me/patients", "t-dra", None).await;
    assert!(
        list.1.contains("\"ann\"") && !list.1.contains("\"ben\""),
        "{list:?}"
    );
    let list = call(&service, M::GET, "/doctors/me/patients", "t-drb", None).await;
    assert!(
        list.1.contains("\"ben\"") && !list.1.contains("\"ann\""),
        "{list:?}"
    );
    let list = call(&service, M::GET, "/doctors/me/patients", "t-ann", None).await;
    assert_eq!(list, (StatusCode::OK, "[]".to_owned()));

    // The desk of ann's clinic sees her name and clinic, and no health data; the other desk
    // gets a missing record.
    let front = call(&service, M::GET, "/patients/ann", "t-desk1", None).await;
    assert_eq!(front.0, StatusCode::OK);
    assert!(
        !front.1.contains("41c7") && front.1.contains("clinic-1"),
        "{front:?}"
    );
    refused.push(call(&service, M::GET, "/patients/ann", "t-desk2", None).await);

    // A patient whose record names the desk's service as their doctor: the desk still gets no
    // diagnosis, from the record or from a doctor's list.
    let cal = record("front-desk", "clinic-1", "cal's diagnosis 41c7");
    assert!(ok(&call(
        &service,
        M::PUT,
        "/patients/ann",
        "t-ann",
        Some(cal)
    )
    .await));
    let front = call(&service, M::GET, "/patients/ann", "t-desk1", None).await;
    assert!(
        front.0 == StatusCode::OK && !front.1.contains("41c7"),
        "{front:?}"
    );
    refused.push(call(&service, M::GET, "/doctors/me/patients", "t-desk1", None).await);

    for answer in &refused {
        assert_eq!(answer, &missing, "a refusal differs from a missing record");
    }

    // A delegation forged in the table: the record fails its check, and shows nothing.
    if let Some(forge) = forge {
        forge();
        let forged = call(&service, M::GET, "/patients/ben", "t-dra", None).await;
        assert_eq!(forged.0, StatusCode::INTERNAL_SERVER_ERROR, "{forged:?}");
        assert!(!forged.1.contains("9e02"), "{forged:?}");
        let list = call(&service, M::GET, "/doctors/me/patients", "t-dra", None).await;
        assert!(!list.1.contains("9e02"), "{list:?}");
        // ben's own doctor is named no more.
        assert_eq!(
            call(&service, M::GET, "/patients/ben", "t-drb", None).await,
            missing
        );
    }

    let log = service.log();
    assert!(log.contains("delegation used to read a record"), "{log}");
    assert!(log.contains("narrowed policy grant used"), "{log}");
    for secret in ["41c7", "9e02"] {
        assert!(!log.contains(secret), "the log holds a diagnosis: {log}");
        for (_, body) in &refused {
            assert!(!body.contains(secret), "{body}");
        }
    }
}

#[tokio::test]
async fn in_memory_each_caller_reaches_exactly_the_records_that_are_theirs_to_reach() {
    attacks(clinic(&[], "patients"), None).await;
}

#[tokio::test]
async fn on_dynamodb_a_forged_delegation_opens_nothing() {
    let table = moto::unique("clinic");
    let service = clinic(&["--dynamo", &moto::endpoint()], &table);
    let forge = {
        let table = table.clone();
        move || {
            let table = table.clone();
            std::thread::spawn(move || {
                tokio::runtime::Runtime::new().unwrap().block_on(async {
                    use aws_sdk_dynamodb::types::AttributeValue;
                    moto::dynamo()
                        .update_item()
                        .table_name(&table)
                        .key("patient_id", AttributeValue::S("ben".into()))
                        .update_expression("SET doctor_id = :d")
                        .expression_attribute_values(":d", AttributeValue::S("dr-a".into()))
                        .send()
                        .await
                        .unwrap();
                });
            })
            .join()
            .unwrap();
        }
    };
    attacks(service, Some(Box::new(forge))).await;
}
