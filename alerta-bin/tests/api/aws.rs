//! The AWS profile end to end through the binary, against moto in server mode; then the items
//! and objects read back through the AWS SDK, as another AWS client would see them.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, binary, start_binary_with};

fn endpoint() -> String {
    std::env::var("ALERTA_TEST_AWS_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "ALERTA_TEST_AWS_ENDPOINT is not set: the AWS tests need moto in server mode. Run \
             `source scripts/lib/moto.sh && start_moto` in this shell first."
        )
    })
}

#[tokio::test]
async fn the_aws_profile_serves_the_api_and_stores_in_dynamodb_and_s3() {
    let endpoint = endpoint();
    let unique = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let prefix = format!("e2e{unique}-");
    let attachments_bucket = format!("e2e-{unique}-adjuntos");
    let reports_bucket = format!("e2e-{unique}-reportes");
    let env = [
        ("ALERTA_PROFILE", "aws"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("ALERTA_AWS_TABLE_PREFIX", prefix.as_str()),
        ("ALERTA_AWS_ATTACHMENTS_BUCKET", attachments_bucket.as_str()),
        ("ALERTA_AWS_REPORTS_BUCKET", reports_bucket.as_str()),
        ("ALERTA_AWS_FORCE_PATH_STYLE", "true"),
    ];
    for _ in 0..2 {
        let bootstrap = Command::new(binary())
            .args(["aws", "bootstrap"])
            .envs(env)
            .output()
            .unwrap();
        assert!(
            bootstrap.status.success(),
            "bootstrap (twice) succeeds: {}",
            String::from_utf8_lossy(&bootstrap.stderr)
        );
    }

    let data_dir = tempfile::tempdir().unwrap();
    let server = start_binary_with(data_dir.path(), &env).await;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let post = |token: Option<String>, path: &str, body: Value| {
        let mut request = client.post(format!("{base}{path}")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let reply = request.send().await.unwrap();
            (
                reply.status().as_u16(),
                reply.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, _) = post(
        None,
        "/auth/register",
        json!({"email": "ana@campus.edu", "password": "ana-password", "nombre": "Ana"}),
    )
    .await;
    assert_eq!(status, 201);
    let (_, ana) = post(
        None,
        "/auth/login",
        json!({"email": "ana@campus.edu", "password": "ana-password"}),
    )
    .await;
    let ana = ana["token"].as_str().unwrap().to_owned();
    let (_, admin) = post(
        None,
        "/auth/login",
        json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
    )
    .await;
    let admin = admin["token"].as_str().unwrap().to_owned();

    let (status, incident) = post(
        Some(ana.clone()),
        "/incidents",
        json!({"tipo": "tecnologia", "descripcion": "Proyector sin imagen", "ubicacion": "Aula 101", "urgencia": "media"}),
    )
    .await;
    assert_eq!(status, 201);
    let id = incident["incident_id"].as_str().unwrap().to_owned();
    let png = b"\x89PNG\r\n\x1a\nproyector".to_vec();
    let attachment: Value = client
        .post(format!(
            "{base}/incidents/{id}/attachments?filename=proyector.png"
        ))
        .bearer_auth(&ana)
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let attachment_id = attachment["attachment_id"].as_str().unwrap().to_owned();
    let (status, _) = post(
        Some(admin.clone()),
        "/departments",
        json!({"nombre": "TI", "email": "ti@campus.edu"}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = post(
        Some(admin.clone()),
        &format!("/incidents/{id}/department"),
        json!({"departamento": "TI"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, resolved) = post(
        Some(admin.clone()),
        &format!("/incidents/{id}/status"),
        json!({"estado": "resuelto", "version": 3}),
    )
    .await;
    assert_eq!(status, 200, "{resolved}");
    assert_eq!(resolved["version"], 4);

    let report = Command::new(binary())
        .args(["report", "run"])
        .envs(env)
        .output()
        .unwrap();
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );

    // Read back through the SDK, as any other AWS client would.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let item = dynamo
        .get_item()
        .table_name(format!("{prefix}Incidentes"))
        .key("incident_id", AttributeValue::S(id.clone()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the incident is an item of Incidentes");
    assert_eq!(item["estado"], AttributeValue::S("resuelto".into()));
    assert_eq!(item["departamento"], AttributeValue::S("TI".into()));
    let events = dynamo
        .query()
        .table_name(format!("{prefix}IncidenteEventos"))
        .key_condition_expression("incident_id = :id")
        .expression_attribute_values(":id", AttributeValue::S(id.clone()))
        .send()
        .await
        .unwrap();
    let kinds: Vec<String> = events
        .items()
        .iter()
        .map(|e| e["tipo_evento"].as_s().unwrap().clone())
        .collect();
    assert_eq!(kinds, ["creado", "adjunto", "asignacion", "cambio_estado"]);

    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let object = s3
        .get_object()
        .bucket(&attachments_bucket)
        .key(format!("adjuntos/{id}/{attachment_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(object.content_type(), Some("image/png"));
    let bytes = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.as_ref(), png.as_slice());
    let report = s3
        .get_object()
        .bucket(&reports_bucket)
        .key(format!("reportes/incidentes/TI/incidente_{id}.json"))
        .send()
        .await
        .unwrap();
    let report: Value =
        serde_json::from_slice(&report.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(report["incident"]["estado"], "resuelto");
    assert_eq!(report["eventos"].as_array().unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolved_alerts_age_out_on_the_aws_profile() {
    let endpoint = endpoint();
    let unique = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let prefix = format!("ret{unique}-");
    let env = [
        ("ALERTA_PROFILE", "aws"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("ALERTA_AWS_TABLE_PREFIX", prefix.as_str()),
        ("ALERTA_AWS_FORCE_PATH_STYLE", "true"),
    ];
    let bootstrap = Command::new(binary())
        .args(["aws", "bootstrap"])
        .envs(env)
        .output()
        .unwrap();
    assert!(
        bootstrap.status.success(),
        "bootstrap: {}",
        String::from_utf8_lossy(&bootstrap.stderr)
    );
    crate::retention::alerts_age_out(&env).await;
}
