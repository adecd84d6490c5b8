//! HTTPS mocks behind the throw-away CA.

use std::sync::Arc;

use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::client::send_over;
use crate::{MockResponse, MockServer, TestCa};

#[tokio::test]
async fn tls_server_reachable_with_test_ca() {
    let ca = TestCa::new();
    let server = MockServer::start_tls(
        |req| MockResponse::text(200, format!("hello {}", req.path)),
        ca.server_config(&["api.example.test", "127.0.0.1"]),
    )
    .await;
    assert!(server.url("/x").starts_with("https://127.0.0.1:"));

    // A client trusting only the CA, from its PEM, as a host would load it.
    let mut roots = rustls::RootCertStore::empty();
    let pem_path = ca.write_pem(
        std::env::temp_dir()
            .join(format!("mocks-ca-{}", server.port()))
            .tap_mkdir(),
    );
    let pem = std::fs::read(&pem_path).unwrap();
    for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    let name = ServerName::try_from("api.example.test").unwrap();
    let tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    let url = server.url_with_host("https://api.example.test", "/greet");
    let reply = send_over(tls, "GET", &url, &[], Vec::new()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(&reply.body[..], b"hello /greet");
    assert_eq!(server.request_count(), 1);
    std::fs::remove_dir_all(pem_path.parent().unwrap()).unwrap();
}

#[tokio::test]
async fn tls_rejected_without_the_ca_or_wrong_name() {
    let ca = TestCa::new();
    let server = MockServer::start_tls(
        |_| MockResponse::status(200),
        ca.server_config(&["localhost"]),
    )
    .await;
    let other = TestCa::new();
    for (config, name) in [
        (other.client_config(), "localhost"),
        (ca.client_config(), "wrong.example"),
    ] {
        let tcp = TcpStream::connect(server.addr()).await.unwrap();
        let name = ServerName::try_from(name).unwrap();
        assert!(TlsConnector::from(config).connect(name, tcp).await.is_err());
    }
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    let tls = TlsConnector::from(ca.client_config())
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(server.request_count(), 0);
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for std::path::PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}
