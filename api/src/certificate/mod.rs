//! Certificates anyone can verify: each award's Open Badges 3.0 credential, signed with the
//! issuer's keys (`keys`), stated as `credential` says, issued, checked and revoked by
//! `service`, and served with the public page and printable documents (`http`, `render`).

pub mod credential;
pub mod graphql;
pub mod http;
pub mod keys;
pub mod loader;
pub mod render;
pub mod service;

use std::sync::{Arc, OnceLock};

use serde_json::Value;

pub use credential::Issuer;
pub use keys::Keys;
pub use service::{CertificateService, CertificateView};

use crate::error::ApiResult;

/// The issuer and its keys: what signs and checks credentials in this deployment.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub keys: Keys,
    pub issuer: Issuer,
}

impl Credentials {
    /// Signs `claims` with the signing key: (its kid, the compact JWT).
    pub fn sign(&self, claims: &Value) -> ApiResult<(String, String)> {
        match self.keys.sign(claims) {
            Some(signed) => Ok(signed?),
            None => Err(anyhow::anyhow!("no credential signing key is configured").into()),
        }
    }

    /// A key made for this process alone, for library use and tests; a server is given its
    /// keys (`CREDENTIAL_KEY_FILES`, or a development key kept beside the data).
    pub fn ephemeral() -> Arc<Self> {
        static ONE: OnceLock<Arc<Credentials>> = OnceLock::new();
        ONE.get_or_init(|| {
            let pem = keys::generate_pem().expect("an RSA key");
            Arc::new(Self {
                keys: Keys::from_pems([pem.as_str()]).expect("the key just made"),
                issuer: Issuer {
                    base_url: "http://localhost:8080".into(),
                    name: "Partnership certification (development)".into(),
                    url: "http://localhost:8080".into(),
                    email: None,
                },
            })
        })
        .clone()
    }
}

/// What checking a credential found.
#[derive(async_graphql::SimpleObject, serde::Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[graphql(name = "CredentialCheck")]
pub struct Verdict {
    /// Authentic, in force today and not revoked.
    pub valid: bool,
    /// Signed by a key this issuer publishes, naming this issuer, and on its record: true for
    /// an expired or revoked credential too.
    pub authentic: bool,
    pub revoked: bool,
    /// Past its `validUntil`; an expired credential is still authentic.
    pub expired: bool,
    /// Why it is not valid; null when it is.
    pub reason: Option<String>,
    /// The certificate it stands for, when authentic.
    pub certificate_number: Option<String>,
}

impl Verdict {
    fn refused(reason: String) -> Self {
        Self {
            valid: false,
            authentic: false,
            revoked: false,
            expired: false,
            reason: Some(reason),
            certificate_number: None,
        }
    }
}
