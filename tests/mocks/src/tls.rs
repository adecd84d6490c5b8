//! A throw-away certificate authority standing in for the public Web PKI:
//! it issues leaf certificates for mock HTTPS servers, and its root is what a
//! client under test is told to trust.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A self-signed CA that exists only for the lifetime of a test.
pub struct TestCa {
    cert: Certificate,
    key: KeyPair,
}

impl TestCa {
    /// Generates a fresh CA key and self-signed root certificate.
    pub fn new() -> Self {
        let key = KeyPair::generate().expect("generate test CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("empty CA SAN list");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "workway-mocks test CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).expect("self-sign test CA");
        Self { cert, key }
    }

    /// The root certificate, PEM-encoded.
    pub fn ca_pem(&self) -> String {
        self.cert.pem()
    }

    /// The root certificate, DER-encoded.
    pub fn ca_der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }

    /// Writes the root as `test-ca.pem` into `dir` and returns its path (for
    /// a client's extra-roots configuration).
    pub fn write_pem(&self, dir: impl AsRef<Path>) -> PathBuf {
        let path = dir.as_ref().join("test-ca.pem");
        std::fs::write(&path, self.ca_pem()).expect("write test CA PEM");
        path
    }

    /// A server config presenting a fresh leaf certificate for `names`
    /// (DNS names, or IP addresses such as `"127.0.0.1"`), ALPN `http/1.1`.
    pub fn server_config(&self, names: &[&str]) -> Arc<ServerConfig> {
        let leaf_key = KeyPair::generate().expect("generate leaf key");
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("valid leaf certificate names");
        params
            .distinguished_name
            .push(DnType::CommonName, "workway-mocks server");
        let leaf = params
            .signed_by(&leaf_key, &self.cert, &self.key)
            .expect("sign leaf certificate");
        let chain = vec![leaf.der().clone(), self.ca_der()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("leaf certificate matches its key");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }

    /// A client config trusting only this CA (for tests that talk to a mock
    /// HTTPS server directly).
    pub fn client_config(&self) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca_der()).expect("test CA is a valid root");
        let mut config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
