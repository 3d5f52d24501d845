//! Staff sign-in through their organisation's identity provider (Microsoft Entra ID, Google
//! Workspace): verifies an OpenID Connect token (a JWT) against the keys its issuer publishes.
//!
//! A token says only who someone is: issuer, subject and perhaps a display name. What they may
//! do comes from access grants in our database. E-mail addresses are never read.

use std::{
    collections::HashMap,
    fmt,
    net::{Ipv4Addr, Ipv6Addr},
    sync::{Arc, PoisonError, RwLock},
    time::{Duration, Instant},
};

use anyhow::{Context as _, anyhow, bail, ensure};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{
    Algorithm, DecodingKey, Validation,
    errors::ErrorKind,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse},
};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::Value;
use url::{Host, Url};

mod sign_in;
pub use sign_in::{Provider, SignIn, SignInError};

/// Clock skew allowed on `exp` and `nbf`, in seconds.
const LEEWAY: u64 = 60;
/// Longest discovery document or key set we read.
const MAX_BODY: usize = 1024 * 1024;
/// Longest token we look at; real ones are a few KiB.
const MAX_TOKEN_LEN: usize = 16 * 1024;
/// Longest `sub` we accept, in characters.
const MAX_SUBJECT_CHARS: usize = 255;
/// Longer display names are cut to this many characters.
const MAX_NAME_CHARS: usize = 200;
/// Smallest RSA modulus we verify with: 2048 bits.
const MIN_RSA_MODULUS_BYTES: usize = 256;

/// One trusted issuer: its `iss` value, and where its keys are (None: from its discovery
/// document `{issuer}/.well-known/openid-configuration` -> `jwks_uri`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcIssuer {
    /// The exact `iss` its tokens carry, e.g. `https://login.microsoftonline.com/{tenant}/v2.0`.
    pub issuer: String,
    /// Where its key set (JWKS) is; None: read `jwks_uri` from its discovery document.
    pub jwks_url: Option<String>,
}

/// Parses the OIDC_ISSUERS setting: comma-separated entries, each `ISSUER` or
/// `ISSUER|JWKS_URL` (whitespace trimmed; an empty string, or empty entries, give nothing).
/// Issuer and URL must be https URLs, or http ones for 127.0.0.1, localhost or [::1] (a local
/// test issuer); anything else is an error naming the entry.
pub fn parse_issuers(s: &str) -> anyhow::Result<Vec<OidcIssuer>> {
    let mut issuers: Vec<OidcIssuer> = Vec::new();
    for (n, entry) in s.split(',').map(str::trim).enumerate().filter(|(_, e)| !e.is_empty()) {
        let (issuer, jwks_url) = match entry.split_once('|') {
            Some((issuer, url)) => (issuer.trim(), Some(url.trim())),
            None => (entry, None),
        };
        // A URL with a password in it must not end up in the startup error either.
        let named = if entry.contains('@') { format!("number {}", n + 1) } else { format!("{entry:?}") };
        check_url(issuer, UrlKind::Issuer).with_context(|| format!("OIDC_ISSUERS entry {named}: issuer"))?;
        if let Some(url) = jwks_url {
            check_url(url, UrlKind::Endpoint)
                .with_context(|| format!("OIDC_ISSUERS entry {named}: JWKS URL"))?;
        }
        ensure!(
            !issuers.iter().any(|known| known.issuer == issuer),
            "OIDC_ISSUERS entry {named}: issuer listed twice"
        );
        issuers.push(OidcIssuer { issuer: issuer.to_owned(), jwks_url: jwks_url.map(str::to_owned) });
    }
    Ok(issuers)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum UrlKind {
    Issuer,
    /// A key set or another endpoint a provider names: a query is allowed.
    Endpoint,
}

/// A URL we may fetch from: https, or http to this machine.
fn check_url(s: &str, kind: UrlKind) -> anyhow::Result<()> {
    let url = Url::parse(s).map_err(|e| anyhow!("not a URL ({e})"))?;
    ensure!(url.username().is_empty() && url.password().is_none(), "a URL with a user name or password");
    ensure!(url.fragment().is_none(), "a URL with a #fragment");
    // OpenID Connect Discovery: an issuer is a URL without query or fragment.
    ensure!(kind == UrlKind::Endpoint || url.query().is_none(), "an issuer URL with a ?query");
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        "http" => bail!("http is allowed only for 127.0.0.1, localhost or [::1]: use https"),
        other => bail!("scheme {other:?}: use https"),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip == Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(ip)) => ip == Ipv6Addr::LOCALHOST,
        None => false,
    }
}

/// A verified person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The configured issuer that vouched for them.
    pub issuer: String,
    /// Their `sub`: stable and unique within the issuer.
    pub subject: String,
    /// Their display name (`name`), trimmed and cut to 200 characters; None if the token has none.
    pub name: Option<String>,
}

/// Why a token was refused. The text is safe to show a client: no key material, no URLs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    /// Its `iss` is none of the configured issuers.
    #[error("the token's issuer is not trusted here")]
    UntrustedIssuer,
    /// Its `kid` is not among the issuer's signing keys, even after a fetch (or one is not due).
    #[error("the token is signed with a key its issuer does not publish")]
    UnknownKey,
    /// Its `exp` passed more than a minute ago.
    #[error("the token has expired")]
    Expired,
    /// Malformed, wrongly signed, for someone else, or with claims we refuse; says which.
    #[error("{0}")]
    Invalid(String),
    /// The issuer's keys could not be fetched (the cause is logged, not returned).
    #[error("the identity provider's keys are unavailable; try again shortly")]
    KeysUnavailable,
}

fn invalid(reason: &str) -> OidcError {
    OidcError::Invalid(reason.to_owned())
}

/// How long keys are kept and how often they may be fetched. `Default` is what the service
/// runs with; tests shorten the times.
#[derive(Clone, Debug)]
pub struct OidcOptions {
    /// How long a fetched key set is used before it is fetched again. Default 1 hour.
    pub key_ttl: Duration,
    /// The least time between two fetches of one issuer's keys, also on an unknown `kid`, so
    /// that tokens with made-up `kid`s can't make us hammer the identity provider. Default 10 s.
    pub min_refetch: Duration,
    /// Time limit of each HTTP request, connecting included. Default 5 s.
    pub http_timeout: Duration,
}

impl Default for OidcOptions {
    fn default() -> Self {
        Self {
            key_ttl: Duration::from_secs(60 * 60),
            min_refetch: Duration::from_secs(10),
            http_timeout: Duration::from_secs(5),
        }
    }
}

/// Verifier for every configured issuer. Cheap to clone (shares its key cache).
#[derive(Clone)]
pub struct Oidc {
    inner: Arc<Inner>,
}

struct Inner {
    audience: String,
    options: OidcOptions,
    http: reqwest::Client,
    issuers: HashMap<String, IssuerKeys>,
}

impl fmt::Debug for Oidc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut issuers: Vec<_> = self.inner.issuers.keys().collect();
        issuers.sort();
        f.debug_struct("Oidc")
            .field("issuers", &issuers)
            .field("audience", &self.inner.audience)
            .finish_non_exhaustive()
    }
}

impl Oidc {
    /// Verifies tokens from `issuers` meant for `audience` (our client id at the providers).
    pub fn new(issuers: Vec<OidcIssuer>, audience: impl Into<String>) -> Self {
        Self::with_options(issuers, audience, OidcOptions::default())
    }

    /// As `new`, with cache and HTTP times of its own.
    pub fn with_options(issuers: Vec<OidcIssuer>, audience: impl Into<String>, options: OidcOptions) -> Self {
        let http = http_client(options.http_timeout);
        let issuers = issuers
            .into_iter()
            .map(|config| {
                let keys =
                    IssuerKeys { config, cache: RwLock::default(), refresh: tokio::sync::Mutex::new(()) };
                (keys.config.issuer.clone(), keys)
            })
            .collect();
        Self { inner: Arc::new(Inner { audience: audience.into(), options, http, issuers }) }
    }

    /// No issuers configured.
    pub fn is_empty(&self) -> bool {
        self.inner.issuers.is_empty()
    }

    /// Whether `iss` is one of the configured issuers (exact string match).
    pub fn trusts(&self, iss: &str) -> bool {
        self.inner.issuers.contains_key(iss)
    }

    /// Verifies `token` (its `iss` must be trusted) and returns the person.
    pub async fn verify(&self, token: &str) -> Result<Identity, OidcError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(invalid("the token is too long"));
        }
        // Unverified peeks, only to pick the issuer and the key; everything is checked below.
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| invalid("the token is not a well-formed JWT"))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(invalid("the token's signing algorithm is not accepted: use RS256 or ES256"));
        }
        if header.crit.is_some() {
            return Err(invalid("the token has critical header parameters we do not support"));
        }
        let kid = header.kid.as_deref().filter(|kid| !kid.is_empty());
        let kid = kid.ok_or_else(|| invalid("the token names no signing key (kid)"))?;
        let peek: Peek = jsonwebtoken::dangerous::insecure_decode_claims(token)
            .map_err(|_| invalid("the token's claims are not readable"))?;
        let iss = peek.iss.ok_or_else(|| invalid("the token has no iss claim"))?;
        let issuer = self.inner.issuers.get(&iss).ok_or(OidcError::UntrustedIssuer)?;

        let key = issuer.key(kid, &self.inner).await?;
        // The key decides the algorithm: an RSA key only for RS256, a P-256 key only for ES256.
        if key.alg != header.alg {
            return Err(invalid("the token's algorithm does not match its key"));
        }
        let mut validation = Validation::new(key.alg);
        validation.set_issuer(&[&issuer.config.issuer]);
        validation.set_audience(&[&self.inner.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY;
        let claims = jsonwebtoken::decode::<Claims>(token, &key.key, &validation).map_err(refusal)?.claims;
        identity(&issuer.config.issuer, claims)
    }
}

/// The one claim read before the signature is checked.
#[derive(Deserialize)]
struct Peek {
    iss: Option<String>,
}

/// The claims kept. Loosely typed so that expiry and audience are reported before shape;
/// anything else in the token (e-mail included) is never deserialized.
#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Value,
    #[serde(default)]
    name: Value,
}

fn refusal(e: jsonwebtoken::errors::Error) -> OidcError {
    match e.kind() {
        ErrorKind::ExpiredSignature => OidcError::Expired,
        ErrorKind::ImmatureSignature => invalid("the token is not valid yet (nbf)"),
        ErrorKind::InvalidAudience => invalid("the token is meant for another audience"),
        ErrorKind::InvalidIssuer => invalid("the token's issuer does not match"),
        ErrorKind::InvalidSignature => invalid("the token's signature does not verify"),
        // The claim names come from our own required list, never from the token.
        ErrorKind::MissingRequiredClaim(claim) => {
            OidcError::Invalid(format!("the token has no {claim} claim"))
        }
        ErrorKind::InvalidClaimFormat(claim) => {
            OidcError::Invalid(format!("the token's {claim} claim is malformed"))
        }
        _ => invalid("the token could not be verified"),
    }
}

fn identity(issuer: &str, claims: Claims) -> Result<Identity, OidcError> {
    let Value::String(subject) = claims.sub else {
        return Err(invalid("the token's sub claim is not a string"));
    };
    if subject.is_empty() {
        return Err(invalid("the token's sub claim is empty"));
    }
    if subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(invalid("the token's sub claim is longer than 255 characters"));
    }
    if subject.chars().any(char::is_control) {
        return Err(invalid("the token's sub claim contains control characters"));
    }
    let name = match claims.name {
        Value::Null => None,
        Value::String(name) => display_name(&name)?,
        _ => return Err(invalid("the token's name claim is not a string")),
    };
    Ok(Identity { issuer: issuer.to_owned(), subject, name })
}

fn display_name(raw: &str) -> Result<Option<String>, OidcError> {
    let name = raw.trim();
    if name.chars().any(char::is_control) {
        return Err(invalid("the token's name claim contains control characters"));
    }
    let name: String = name.chars().take(MAX_NAME_CHARS).collect();
    let name = name.trim_end();
    Ok((!name.is_empty()).then(|| name.to_owned()))
}

/// One issuer's keys, fetched lazily and shared by every clone of `Oidc`.
struct IssuerKeys {
    config: OidcIssuer,
    cache: RwLock<KeyCache>,
    /// Held while fetching, so that concurrent misses share one fetch.
    refresh: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, Arc<VerifyKey>>,
    /// When `keys` were fetched; None before the first successful fetch.
    fetched: Option<Instant>,
    /// When a fetch last ended, whether it worked or not.
    tried: Option<Instant>,
}

struct VerifyKey {
    alg: Algorithm,
    key: DecodingKey,
}

enum Lookup {
    Found(Arc<VerifyKey>),
    Fetch,
    Refused(OidcError),
}

impl IssuerKeys {
    async fn key(&self, kid: &str, inner: &Inner) -> Result<Arc<VerifyKey>, OidcError> {
        match self.lookup(kid, &inner.options) {
            Lookup::Found(key) => return Ok(key),
            Lookup::Refused(e) => return Err(e),
            Lookup::Fetch => {}
        }
        let _fetching = self.refresh.lock().await;
        // Whoever held the lock before us may just have fetched.
        match self.lookup(kid, &inner.options) {
            Lookup::Found(key) => return Ok(key),
            Lookup::Refused(e) => return Err(e),
            Lookup::Fetch => {}
        }
        let fetched = self.fetch(&inner.http).await;
        // Stamped when the fetch ends, so that whoever waits for it meanwhile shares its result.
        let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
        cache.tried = Some(Instant::now());
        match fetched {
            Ok(keys) => {
                tracing::debug!(oidc.issuer = %self.config.issuer, keys = keys.len(), "fetched signing keys");
                cache.keys = keys;
                cache.fetched = cache.tried;
                cache.keys.get(kid).cloned().ok_or(OidcError::UnknownKey)
            }
            Err(e) => {
                tracing::warn!(
                    oidc.issuer = %self.config.issuer,
                    error = %format!("{e:#}"),
                    "could not fetch the identity provider's keys"
                );
                Err(OidcError::KeysUnavailable)
            }
        }
    }

    fn lookup(&self, kid: &str, options: &OidcOptions) -> Lookup {
        let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
        let fresh = cache.fetched.is_some_and(|at| at.elapsed() < options.key_ttl);
        if fresh && let Some(key) = cache.keys.get(kid) {
            return Lookup::Found(key.clone());
        }
        if cache.tried.is_none_or(|at| at.elapsed() >= options.min_refetch) {
            Lookup::Fetch
        } else if fresh {
            Lookup::Refused(OidcError::UnknownKey)
        } else {
            // The last fetch failed, moments ago.
            Lookup::Refused(OidcError::KeysUnavailable)
        }
    }

    async fn fetch(&self, http: &reqwest::Client) -> anyhow::Result<HashMap<String, Arc<VerifyKey>>> {
        let jwks_url = match &self.config.jwks_url {
            Some(url) => url.clone(),
            None => {
                let url =
                    format!("{}/.well-known/openid-configuration", self.config.issuer.trim_end_matches('/'));
                let doc: Discovery = get_json(http, &url).await.context("discovery document")?;
                // OpenID Connect Discovery 1.0, section 4.3: else anyone who can serve the
                // document could vouch for another issuer's tokens.
                ensure!(
                    doc.issuer == self.config.issuer,
                    "the discovery document names issuer {:?}, not the configured one",
                    doc.issuer
                );
                check_url(&doc.jwks_uri, UrlKind::Endpoint)
                    .with_context(|| format!("the discovery document's jwks_uri {:?}", doc.jwks_uri))?;
                doc.jwks_uri
            }
        };
        let set: KeySet = get_json(http, &jwks_url).await.context("key set (JWKS)")?;
        let mut keys = HashMap::new();
        for jwk in set.keys {
            // One key we can't use must not cost us the others.
            let Ok(jwk) = serde_json::from_value::<Jwk>(jwk) else { continue };
            if let Some((kid, key)) = usable_key(&jwk) {
                keys.entry(kid).or_insert_with(|| Arc::new(key));
            }
        }
        Ok(keys)
    }
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct KeySet {
    keys: Vec<Value>,
}

/// The key and the one algorithm it may verify, if the JWK is a signing key we accept.
fn usable_key(jwk: &Jwk) -> Option<(String, VerifyKey)> {
    let kid = jwk.common.key_id.clone().filter(|kid| !kid.is_empty())?;
    if jwk.common.public_key_use.as_ref().is_some_and(|used| *used != PublicKeyUse::Signature) {
        return None;
    }
    if jwk.common.key_operations.as_ref().is_some_and(|ops| !ops.contains(&KeyOperations::Verify)) {
        return None;
    }
    let alg = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            let modulus = URL_SAFE_NO_PAD.decode(&rsa.n).ok()?;
            let significant = modulus.iter().skip_while(|b| **b == 0).count();
            (significant >= MIN_RSA_MODULUS_BYTES).then_some(Algorithm::RS256)?
        }
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => Algorithm::ES256,
        _ => return None,
    };
    if jwk.common.key_algorithm.is_some_and(|declared| declared != KeyAlgorithm::from(alg)) {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some((kid, VerifyKey { alg, key }))
}

/// GETs `url` and parses its JSON body, refusing bodies over 1 MiB.
async fn get_json<T: DeserializeOwned>(http: &reqwest::Client, url: &str) -> anyhow::Result<T> {
    let res =
        http.get(url).header(reqwest::header::ACCEPT, "application/json").send().await?.error_for_status()?;
    read_json(res).await
}

/// Parses a response's JSON body, refusing bodies over 1 MiB.
async fn read_json<T: DeserializeOwned>(mut res: reqwest::Response) -> anyhow::Result<T> {
    let too_big = || anyhow!("the response is larger than {MAX_BODY} bytes");
    if res.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).context("the response is not the JSON expected")
}

/// HTTPS on rustls with ring, the provider sqlx already builds. Trusts the system's CA
/// certificates (so a TLS-inspecting proxy's CA installed there works), or the bundled webpki
/// roots on an image without any. No redirects: a provider serves these documents where it
/// says it does.
fn http_client(timeout: Duration) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if added == 0 {
        tracing::warn!("no CA certificates on this system: trusting the bundled webpki roots for OIDC");
        roots.roots = webpki_roots::TLS_SERVER_ROOTS.to_vec();
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("partnership-api/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("reqwest takes a rustls 0.23 ClientConfig")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_cut_on_a_char_boundary() {
        assert_eq!(display_name("  Ada Lovelace \t").unwrap().as_deref(), Some("Ada Lovelace"));
        assert_eq!(display_name("   ").unwrap(), None);
        let long = "é".repeat(250);
        assert_eq!(display_name(&long).unwrap().unwrap().chars().count(), MAX_NAME_CHARS);
        assert!(display_name("Ada\u{7}Lovelace").is_err());
    }

    #[test]
    fn loopback_is_the_only_http() {
        assert!(check_url("http://127.0.0.1:8080", UrlKind::Issuer).is_ok());
        assert!(check_url("http://localhost/realms/x", UrlKind::Issuer).is_ok());
        assert!(check_url("http://[::1]:9000", UrlKind::Issuer).is_ok());
        assert!(check_url("http://127.0.0.2", UrlKind::Issuer).is_err());
        assert!(check_url("http://example.com", UrlKind::Issuer).is_err());
        assert!(check_url("https://example.com/keys?v=2", UrlKind::Endpoint).is_ok());
        assert!(check_url("https://example.com/?tenant=x", UrlKind::Issuer).is_err());
    }
}
