//! The issuer's signing keys: RSA keys read from PEM files, several at once. The first
//! private key signs; every key, private or public only, is published at
//! `/.well-known/jwks.json` and verifies what it signed. So an operator introduces a new key
//! by putting it first, keeps a retired key's public half in the list for as long as its
//! credentials should verify, and removes it to stop them verifying.

use std::path::Path;

use anyhow::{Context as _, bail};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use rsa::{
    RsaPrivateKey, RsaPublicKey,
    pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey},
    pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, LineEnding},
    traits::PublicKeyParts,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The smallest RSA modulus accepted, in bits (RS256 with less is not considered safe).
const MIN_BITS: usize = 2048;

/// One published key: its id and public half, and its private half when it may sign.
#[derive(Clone)]
struct Key {
    kid: String,
    n: String,
    e: String,
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
}

/// The keys of one deployment, in the configured order.
#[derive(Clone, Default)]
pub struct Keys {
    keys: Vec<Key>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.keys.iter().map(|k| (&k.kid, k.encoding.is_some()))).finish()
    }
}

impl Keys {
    /// The keys in these PEM texts (PKCS#8 or PKCS#1; private or public), in order.
    pub fn from_pems<'a>(pems: impl IntoIterator<Item = &'a str>) -> anyhow::Result<Self> {
        let mut keys: Vec<Key> = Vec::new();
        for (i, pem) in pems.into_iter().enumerate() {
            let key = read(pem).with_context(|| format!("key {} of the list", i + 1))?;
            if keys.iter().any(|k| k.kid == key.kid) {
                bail!("key {} of the list is given twice", i + 1);
            }
            keys.push(key);
        }
        Ok(Self { keys })
    }

    /// The keys in these PEM files, in order.
    pub fn from_files(paths: &[impl AsRef<Path>]) -> anyhow::Result<Self> {
        let texts = paths
            .iter()
            .map(|p| {
                std::fs::read_to_string(p.as_ref())
                    .with_context(|| format!("cannot read {}", p.as_ref().display()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Self::from_pems(texts.iter().map(String::as_str))
    }

    /// The id of the key that signs: the first that has its private half.
    pub fn signing_kid(&self) -> Option<&str> {
        self.keys.iter().find(|k| k.encoding.is_some()).map(|k| k.kid.as_str())
    }

    /// Signs `claims` as a compact JWS with RS256, naming the key in `kid`; None without a
    /// private key.
    pub fn sign(&self, claims: &Value) -> Option<anyhow::Result<(String, String)>> {
        let key = self.keys.iter().find(|k| k.encoding.is_some())?;
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid.clone());
        header.typ = Some("JWT".into());
        let encoding = key.encoding.as_ref()?;
        Some(
            jsonwebtoken::encode(&header, claims, encoding)
                .map(|jwt| (key.kid.clone(), jwt))
                .map_err(Into::into),
        )
    }

    /// The public key named `kid`, if it is in the set.
    pub fn decoding(&self, kid: &str) -> Option<&DecodingKey> {
        self.keys.iter().find(|k| k.kid == kid).map(|k| &k.decoding)
    }

    /// The JSON Web Key Set of every key (RFC 7517), as served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|k| json!({ "kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.kid, "n": k.n, "e": k.e }))
            .collect();
        json!({ "keys": keys })
    }
}

/// A new 2048-bit RSA private key, as PKCS#8 PEM (development: generated once and kept).
pub fn generate_pem() -> anyhow::Result<String> {
    let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, MIN_BITS)?;
    Ok(key.to_pkcs8_pem(LineEnding::LF)?.to_string())
}

fn read(pem: &str) -> anyhow::Result<Key> {
    let pem = pem.trim();
    let (public, private) = if pem.contains("PRIVATE KEY-----") {
        let private = RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .context("not an RSA private key in PEM (PKCS#8 or PKCS#1)")?;
        (private.to_public_key(), Some(EncodingKey::from_rsa_pem(pem.as_bytes())?))
    } else {
        let public = RsaPublicKey::from_public_key_pem(pem)
            .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
            .context("not an RSA key in PEM")?;
        (public, None)
    };
    if public.size() * 8 < MIN_BITS {
        bail!("the RSA key has {} bits; at least {MIN_BITS} are needed", public.size() * 8);
    }
    let n = URL_SAFE_NO_PAD.encode(public.n().to_bytes_be());
    let e = URL_SAFE_NO_PAD.encode(public.e().to_bytes_be());
    let decoding = DecodingKey::from_rsa_components(&n, &e)?;
    Ok(Key { kid: thumbprint(&n, &e), n, e, decoding, encoding: private })
}

/// The key's RFC 7638 thumbprint: SHA-256 of its required members in lexical order, so the
/// same key always has the same id wherever it is configured.
fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use rsa::pkcs8::EncodePublicKey;

    use super::*;

    #[test]
    fn a_public_key_verifies_but_does_not_sign_and_the_first_private_key_signs() {
        let old = generate_pem().unwrap();
        let new = generate_pem().unwrap();
        let old_public = RsaPrivateKey::from_pkcs8_pem(&old)
            .unwrap()
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let keys = Keys::from_pems([new.as_str(), old_public.as_str()]).unwrap();
        let public_only = Keys::from_pems([old_public.as_str()]).unwrap();
        assert!(public_only.sign(&json!({})).is_none());
        let old_kid = public_only.jwks()["keys"][0]["kid"].as_str().unwrap().to_owned();
        assert_eq!(Keys::from_pems([old.as_str()]).unwrap().signing_kid(), Some(old_kid.as_str()));
        let (kid, _) = keys.sign(&json!({ "a": 1 })).unwrap().unwrap();
        assert_eq!(Some(kid.as_str()), keys.signing_kid());
        assert_ne!(kid, old_kid);
        assert!(keys.decoding(&old_kid).is_some());
        assert_eq!(keys.jwks()["keys"].as_array().unwrap().len(), 2);
        assert!(Keys::from_pems([new.as_str(), new.as_str()]).is_err());
        assert!(Keys::from_pems(["not a key"]).is_err());
    }
}
