use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A one-shot HTTP server answering every connection with `response`; returns its base URL.
async fn answer_with(response: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn redirects_are_answers_not_detours() {
    let base = answer_with(
        "HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/latest/meta-data\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    let client = lambda_kit::http::http_client("lambda-kit-test/0.0.0").unwrap();
    let resp = client.get(format!("{base}/x")).send().await.unwrap();
    assert_eq!(
        resp.status(),
        302,
        "the client must not follow the redirect"
    );
}

#[tokio::test]
async fn the_request_timeout_fires() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Accept and never answer.
    let _held = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(socket);
    });
    let client = lambda_kit::http::http_client_with(
        "lambda-kit-test/0.0.0",
        Duration::from_millis(200),
        Duration::from_millis(300),
    )
    .unwrap();
    let err = client
        .get(format!("http://{addr}/"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
}

#[tokio::test]
async fn the_user_agent_is_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = socket.read(&mut buf).await.unwrap();
        socket
            .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            .await
            .unwrap();
        String::from_utf8_lossy(&buf[..n]).to_lowercase()
    });
    let client = lambda_kit::http::http_client("oncall-spoke/1.2.3").unwrap();
    client.get(format!("http://{addr}/")).send().await.unwrap();
    assert!(
        seen.await
            .unwrap()
            .contains("user-agent: oncall-spoke/1.2.3")
    );
}
