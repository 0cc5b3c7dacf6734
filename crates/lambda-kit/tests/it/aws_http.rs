//! The AWS SDK over reqwest (`lambda_kit::aws_http`, ADR 0019): a real SDK client reaches a loopback server
//! through it, signed, and the SDK's read timeout ends a call the server never answers.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::config::timeout::TimeoutConfig;
use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region, retry::RetryConfig};
use aws_sdk_secretsmanager::error::SdkError;
use lambda_kit::error::chain;

/// Reads one request (head and `content-length` body) from `socket`.
fn read_request(socket: &mut TcpStream) -> String {
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&request).to_string();
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length = text[..head_end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if request.len() >= head_end + 4 + length {
                return text;
            }
        }
        match socket.read(&mut buf) {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&request).to_string(),
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
}

/// A server on 127.0.0.1 that hands every request it reads to the returned channel and answers with `answer`
/// (or, when `None`, holds the connection open without answering).
fn spawn_server(answer: Option<&'static str>) -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (requests, received) = mpsc::channel();
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(mut socket) = socket else { return };
            let requests = requests.clone();
            std::thread::spawn(move || {
                let _ = requests.send(read_request(&mut socket));
                match answer {
                    Some(body) => {
                        let response = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = socket.write_all(response.as_bytes());
                    }
                    None => std::thread::sleep(Duration::from_secs(30)),
                }
            });
        }
    });
    (port, received)
}

fn client(port: u16, timeouts: TimeoutConfig) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .timeout_config(timeouts)
        .retry_config(RetryConfig::disabled())
        .http_client(lambda_kit::aws_http::aws_http_client())
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

#[tokio::test]
async fn an_sdk_call_goes_through_reqwest_signed_and_its_answer_comes_back() {
    let (port, requests) = spawn_server(Some(r#"{"Name":"cls/spoke","SecretString":"s3cr3t"}"#));
    let answer = client(port, TimeoutConfig::builder().build())
        .get_secret_value()
        .secret_id("cls/spoke")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.secret_string(), Some("s3cr3t"));
    let request = requests.recv_timeout(Duration::from_secs(5)).unwrap();
    let lower = request.to_ascii_lowercase();
    assert!(request.starts_with("POST / HTTP/1.1\r\n"), "{request}");
    assert!(
        lower.contains("\r\nx-amz-target: secretsmanager.getsecretvalue\r\n"),
        "{request}"
    );
    assert!(
        lower.contains("\r\nauthorization: aws4-hmac-sha256 credential=akidtest/"),
        "{request}"
    );
    assert!(
        request.ends_with(r#"{"SecretId":"cls/spoke"}"#),
        "{request}"
    );
}

#[tokio::test]
async fn the_sdks_read_timeout_ends_a_call_the_server_never_answers() {
    let (port, requests) = spawn_server(None);
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .read_timeout(Duration::from_millis(300))
        .build();
    let started = Instant::now();
    let error = client(port, timeouts)
        .get_secret_value()
        .secret_id("cls/spoke")
        .send()
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    // The request arrived; the answer never did.
    assert!(requests.recv_timeout(Duration::from_secs(5)).is_ok());
    match &error {
        SdkError::DispatchFailure(failure) => assert!(failure.is_timeout(), "{}", chain(&error)),
        other => panic!("expected a dispatch timeout: {}", chain(other)),
    }
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
}
