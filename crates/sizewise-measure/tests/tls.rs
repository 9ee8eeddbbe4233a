//! `https://` against a TLS mock on 127.0.0.1 whose CA and certificate are made here, at
//! test time (nothing leaves the machine).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{Mock, TlsServer};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use sizewise_measure::{BenchConfig, ErrorKind, Load, MeasureError, Stop, run};

/// A test CA and a server configuration whose certificate it signed for `names`.
struct Pki {
    ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

fn pki(names: &[&str]) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "sizewise test CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut leaf = CertificateParams::new(names).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "sizewise test server");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap();
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Pki {
        ca_pem: ca_cert.pem(),
        server: Arc::new(server),
    }
}

fn start(pki: &Pki) -> TlsServer {
    common::start_tls(
        Mock {
            ttft: Duration::from_millis(5),
            tpot: Duration::from_millis(1),
            ..Mock::default()
        },
        Arc::clone(&pki.server),
    )
}

fn cfg(url: String, ca_cert: Option<&str>, concurrency: usize, n: u64) -> BenchConfig {
    let mut c = BenchConfig::new(url, "mock");
    c.load = Load::Concurrency(concurrency);
    c.stop = Stop::Requests(n);
    c.warmup = 0;
    c.prompt_tokens = 16;
    c.output_tokens = 16;
    c.timeout = Duration::from_secs(5);
    c.ca_cert = ca_cert.map(|p| p.as_bytes().to_vec());
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_the_ca_completes_every_request_on_reused_connections() {
    let pki = pki(&["localhost", "127.0.0.1"]);
    let server = start(&pki);
    let c = cfg(server.url("localhost"), Some(&pki.ca_pem), 4, 20);
    let r = run(&c, |_| {}).await.unwrap();
    assert_eq!(
        (r.sent, r.completed, r.error_count()),
        (20, 20, 0),
        "{:?}",
        r.errors
    );
    assert_eq!(server.received.load(Ordering::Relaxed), 20);
    assert_eq!(r.output_tokens.p50, Some(16.0));
    assert_eq!(r.token_source, "usage");
    let ttft = r.ttft_ms.p50.unwrap();
    let e2e = r.e2e_ms.p50.unwrap();
    assert!((5.0..50.0).contains(&ttft), "ttft p50 {ttft}");
    assert!(e2e > ttft, "e2e p50 {e2e} vs ttft {ttft}");
    assert_eq!(r.tpot_ms.n, 20);
    assert!(r.requests_per_s > 0.0 && r.output_tokens_per_s > 0.0);
    // One connection (and one handshake) per worker, reused for the rest: the TLS handshake
    // is part of the connect time of exactly those requests.
    let hs = server.handshakes.lock().unwrap().clone();
    assert_eq!(hs.len(), 4, "{hs:?}");
    for h in &hs {
        assert_eq!(h.result, Ok(()));
        assert_eq!(h.sni.as_deref(), Some("localhost"));
        assert_eq!(h.alpn.as_deref(), Some(&b"http/1.1"[..]));
    }
    assert_eq!(
        r.requests.iter().filter(|q| q.connect_ns.is_some()).count(),
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_to_an_ip_address_checks_the_ip_and_sends_no_sni() {
    let pki = pki(&["127.0.0.1"]);
    let server = start(&pki);
    let c = cfg(server.url("127.0.0.1"), Some(&pki.ca_pem), 2, 4);
    let r = run(&c, |_| {}).await.unwrap();
    assert_eq!((r.completed, r.error_count()), (4, 0), "{:?}", r.errors);
    let hs = server.handshakes.lock().unwrap().clone();
    assert!(
        hs.iter().all(|h| h.sni.is_none() && h.result.is_ok()),
        "{hs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_ca_every_request_is_a_connect_error_naming_the_certificate() {
    let pki = pki(&["localhost", "127.0.0.1"]);
    let server = start(&pki);
    let c = cfg(server.url("localhost"), None, 4, 20);
    let r = run(&c, |_| {}).await.unwrap();
    assert_eq!(r.sent, 20);
    assert_eq!(r.completed, 0);
    assert_eq!(r.errors.get("connect"), Some(&20), "{:?}", r.errors);
    assert_eq!(server.received.load(Ordering::Relaxed), 0);
    for q in &r.requests {
        let e = q.error.as_ref().unwrap();
        assert_eq!(e.kind, ErrorKind::Connect);
        assert!(e.message.contains("certificate"), "{}", e.message);
        assert!(e.message.contains("UnknownIssuer"), "{}", e.message);
        assert!(e.message.contains("--ca-cert"), "{}", e.message);
    }
    eprintln!("{}", r.requests[0].error.as_ref().unwrap().message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_name_is_a_connect_error() {
    let pki = pki(&["localhost"]);
    let server = start(&pki);
    let c = cfg(server.url("127.0.0.1"), Some(&pki.ca_pem), 1, 2);
    let r = run(&c, |_| {}).await.unwrap();
    assert_eq!(r.errors.get("connect"), Some(&2), "{:?}", r.errors);
    let m = &r.requests[0].error.as_ref().unwrap().message;
    eprintln!("{m}");
    assert!(m.contains("certificate") && m.contains("host name"), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_to_a_plain_http_server_says_so() {
    let server = common::start(Mock::default());
    let url = format!("https://{}/v1", server.addr);
    let r = run(&cfg(url, None, 1, 2), |_| {}).await.unwrap();
    assert_eq!(r.errors.get("connect"), Some(&2), "{:?}", r.errors);
    let m = &r.requests[0].error.as_ref().unwrap().message;
    eprintln!("{m}");
    assert!(m.contains("TLS handshake") && m.contains("http://"), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_ca_cert_is_invalid_config() {
    let pki = pki(&["localhost"]);
    let server = start(&pki);
    let key_only = KeyPair::generate().unwrap().serialize_pem();
    let cases = [
        ("not PEM at all", "hello, I am not a certificate"),
        ("empty", ""),
        (
            "broken base64",
            "-----BEGIN CERTIFICATE-----\nnot*base64!\n-----END CERTIFICATE-----\n",
        ),
        ("no END line", "-----BEGIN CERTIFICATE-----\nMIIB\n"),
        ("a private key only", key_only.as_str()),
        (
            "PEM of something that is no certificate",
            "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n",
        ),
    ];
    for (what, pem) in cases {
        for url in [server.url("localhost"), "http://127.0.0.1:9/v1".to_string()] {
            let c = cfg(url.clone(), Some(pem), 1, 1);
            match run(&c, |_| {}).await {
                Err(MeasureError::InvalidConfig(m)) => {
                    eprintln!("{what}: {m}");
                    assert!(m.contains("ca_cert"), "{what}: {m}");
                }
                other => panic!("{what} with {url}: {other:?}"),
            }
        }
    }
    assert_eq!(server.received.load(Ordering::Relaxed), 0);
    assert!(server.handshakes.lock().unwrap().is_empty());
}

#[tokio::test]
async fn unsupported_schemes_are_refused() {
    let c = cfg("ftp://127.0.0.1/v1".into(), None, 1, 1);
    match run(&c, |_| {}).await {
        Err(MeasureError::Url(m)) => assert!(m.contains("https://"), "{m}"),
        other => panic!("{other:?}"),
    }
}
