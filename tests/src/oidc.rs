//! A test OpenID Connect issuer: key pairs made here at start, a discovery document and a key
//! set (JWKS) served on a local port, and tokens signed as an identity provider signs them.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
};

use api::oidc::OidcIssuer;
use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    routing::{get, post},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{
    Algorithm, EncodingKey, Header,
    jwk::{Jwk, PublicKeyUse},
};
use p256::pkcs8::EncodePrivateKey as _;
use rsa::{
    pkcs1::EncodeRsaPrivateKey as _,
    pkcs8::{EncodePublicKey as _, LineEnding},
    rand_core::OsRng,
};
use serde_json::{Value, json};

/// The audience the test issuer's tokens are for (our client id at the provider).
pub const OIDC_AUDIENCE: &str = "partnership-api-oidc";
/// Our client secret at the test issuer.
pub const OIDC_CLIENT_SECRET: &str = "test-client-secret";

/// An identity provider on 127.0.0.1, serving until the test's runtime ends.
pub struct TestIssuer {
    shared: Arc<Shared>,
}

struct Shared {
    issuer: String,
    keys: Mutex<Keys>,
    jwks_served: AtomicUsize,
    discoveries_served: AtomicUsize,
    /// What the discovery document says `issuer` is; None: the truth.
    discovery_issuer: Mutex<Option<String>>,
    /// Authorization codes handed out and not yet redeemed.
    codes: Mutex<HashMap<String, Code>>,
}

/// What an authorization code was issued for.
struct Code {
    claims: Value,
    challenge: String,
    redirect_uri: String,
}

struct Keys {
    rsa: KeyPair,
    ec: KeyPair,
    /// Raw JWKs published beside the two keys, for hostile key sets.
    extra: Vec<Value>,
    rotations: usize,
}

struct KeyPair {
    kid: String,
    encoding: EncodingKey,
    /// The public half as a JWK, as the key set serves it.
    jwk: Value,
    /// The public half as PEM (RSA only): the "secret" of an alg-confusion token.
    public_pem: String,
}

/// How `sign_with` signs a token.
#[derive(Clone, Debug, Default)]
pub struct SignWith {
    pub alg: TestAlg,
    pub kid: Kid,
}

impl SignWith {
    pub fn rs256() -> Self {
        Self::default()
    }
    pub fn es256() -> Self {
        Self { alg: TestAlg::Es256, ..Self::default() }
    }
    pub fn alg(alg: TestAlg) -> Self {
        Self { alg, ..Self::default() }
    }
    /// Names `kid` in the header, whichever key signs.
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Kid::Named(kid.into());
        self
    }
    /// Leaves `kid` out of the header.
    pub fn no_kid(mut self) -> Self {
        self.kid = Kid::Omitted;
        self
    }
}

/// The header's `alg`, and what signs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TestAlg {
    /// The current RSA key.
    #[default]
    Rs256,
    /// The EC P-256 key.
    Es256,
    /// HMAC keyed with the current RSA public key's PEM: the alg-confusion attack. Names the RSA kid.
    Hs256WithRsaPublicKey,
    /// `alg: none` and no signature. Names the RSA kid.
    None,
}

/// The header's `kid`.
#[derive(Clone, Debug, Default)]
pub enum Kid {
    /// The kid of the key that signs (the RSA one for HS256 and none).
    #[default]
    Own,
    Named(String),
    Omitted,
}

impl TestIssuer {
    /// New keys (RSA 2048 and EC P-256) and a server on a free local port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a local port");
        let issuer = format!("http://{}", listener.local_addr().expect("local address"));
        let keys = Keys { rsa: rsa_key_pair(1), ec: ec_key_pair(), extra: Vec::new(), rotations: 1 };
        let shared = Arc::new(Shared {
            issuer,
            keys: Mutex::new(keys),
            jwks_served: AtomicUsize::new(0),
            discoveries_served: AtomicUsize::new(0),
            discovery_issuer: Mutex::new(None),
            codes: Mutex::default(),
        });
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .with_state(shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                eprintln!("test issuer stopped: {e}");
            }
        });
        Self { shared }
    }

    /// Its `iss`, e.g. `http://127.0.0.1:41234`.
    pub fn issuer(&self) -> String {
        self.shared.issuer.clone()
    }

    /// Where its key set is.
    pub fn jwks_url(&self) -> String {
        format!("{}/jwks", self.shared.issuer)
    }

    /// It as a trusted issuer whose keys are found through its discovery document.
    pub fn config(&self) -> OidcIssuer {
        OidcIssuer { issuer: self.issuer(), jwks_url: None }
    }

    /// The kid of the current RSA key.
    pub fn kid(&self) -> String {
        self.keys().rsa.kid.clone()
    }

    /// The kid of the EC key.
    pub fn ec_kid(&self) -> String {
        self.keys().ec.kid.clone()
    }

    /// The current RSA key's public JWK, to republish altered with `publish`.
    pub fn rsa_jwk(&self) -> Value {
        self.keys().rsa.jwk.clone()
    }

    /// The EC key's public JWK.
    pub fn ec_jwk(&self) -> Value {
        self.keys().ec.jwk.clone()
    }

    /// Adds `jwk` to the key set, beside the RSA and EC keys.
    pub fn publish(&self, jwk: Value) {
        self.keys().extra.push(jwk);
    }

    /// Makes the discovery document claim to be `issuer`.
    pub fn set_discovery_issuer(&self, issuer: &str) {
        *lock(&self.shared.discovery_issuer) = Some(issuer.to_owned());
    }

    /// A new current RSA key with a new kid; the key set then serves it instead of the old
    /// one (and still the EC key). Returns the new kid.
    pub fn rotate(&self) -> String {
        let mut keys = self.keys();
        keys.rotations += 1;
        keys.rsa = rsa_key_pair(keys.rotations);
        keys.rsa.kid.clone()
    }

    /// How many times the key set was served.
    pub fn fetches(&self) -> usize {
        self.shared.jwks_served.load(Ordering::SeqCst)
    }

    /// How many times the discovery document was served.
    pub fn discoveries(&self) -> usize {
        self.shared.discoveries_served.load(Ordering::SeqCst)
    }

    /// Claims of a good token for `sub`: this issuer, our audience, valid for ten minutes.
    pub fn claims(&self, sub: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": self.issuer(),
            "aud": OIDC_AUDIENCE,
            "sub": sub,
            "iat": now,
            "exp": now + 600,
            // Providers send it; the verifier must not keep it.
            "email": format!("{sub}@example.org"),
        })
    }

    /// What the provider does once `sub` has signed in on its authorization page: a code for
    /// the sign-in that `authorize_url` (the page's address, as our server sent the browser to
    /// it) asked for, redeemable once at the token endpoint with that request's PKCE verifier.
    pub fn authorize(&self, authorize_url: &str, sub: &str, name: &str) -> String {
        let url = url::Url::parse(authorize_url).expect("an authorization URL");
        let param = |k: &str| url.query_pairs().find(|(key, _)| key == k).map(|(_, v)| v.into_owned());
        assert_eq!(url.path(), "/authorize");
        assert_eq!(param("response_type").as_deref(), Some("code"));
        assert_eq!(param("client_id").as_deref(), Some(OIDC_AUDIENCE));
        assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
        let mut claims = self.claims(sub);
        claims["name"] = json!(name);
        claims["nonce"] = json!(param("nonce").expect("a nonce"));
        let code = uuid::Uuid::new_v4().simple().to_string();
        let challenge = param("code_challenge").expect("a PKCE challenge");
        let redirect_uri = param("redirect_uri").expect("a redirect URI");
        lock(&self.shared.codes).insert(code.clone(), Code { claims, challenge, redirect_uri });
        code
    }

    /// A good RS256 token for `sub`, with the current kid.
    pub fn sign(&self, sub: &str, name: Option<&str>) -> String {
        let mut claims = self.claims(sub);
        if let Some(name) = name {
            claims["name"] = json!(name);
        }
        self.sign_with(claims, SignWith::rs256())
    }

    /// Signs any claims, as `how` says.
    pub fn sign_with(&self, claims: Value, how: SignWith) -> String {
        let keys = self.keys();
        let (alg, own_kid) = match how.alg {
            TestAlg::Rs256 => ("RS256", &keys.rsa.kid),
            TestAlg::Es256 => ("ES256", &keys.ec.kid),
            TestAlg::Hs256WithRsaPublicKey => ("HS256", &keys.rsa.kid),
            TestAlg::None => ("none", &keys.rsa.kid),
        };
        let kid = match how.kid {
            Kid::Own => Some(own_kid.clone()),
            Kid::Named(kid) => Some(kid),
            Kid::Omitted => None,
        };
        let mut header = Header::new(match how.alg {
            TestAlg::Rs256 => Algorithm::RS256,
            TestAlg::Es256 => Algorithm::ES256,
            TestAlg::Hs256WithRsaPublicKey | TestAlg::None => Algorithm::HS256,
        });
        header.kid = kid.clone();
        match how.alg {
            TestAlg::Rs256 => jsonwebtoken::encode(&header, &claims, &keys.rsa.encoding),
            TestAlg::Es256 => jsonwebtoken::encode(&header, &claims, &keys.ec.encoding),
            TestAlg::Hs256WithRsaPublicKey => jsonwebtoken::encode(
                &header,
                &claims,
                &EncodingKey::from_secret(keys.rsa.public_pem.as_bytes()),
            ),
            TestAlg::None => {
                // jsonwebtoken won't write `none`; an attacker would.
                let header = json!({ "alg": alg, "typ": "JWT", "kid": kid });
                let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
                Ok(format!("{}.{}.", part(&header), part(&claims)))
            }
        }
        .expect("sign a test token")
    }

    fn keys(&self) -> MutexGuard<'_, Keys> {
        lock(&self.shared.keys)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.discoveries_served.fetch_add(1, Ordering::SeqCst);
    let issuer = lock(&shared.discovery_issuer).clone().unwrap_or_else(|| shared.issuer.clone());
    Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{}/jwks", shared.issuer),
        "authorization_endpoint": format!("{}/authorize", shared.issuer),
        "token_endpoint": format!("{}/token", shared.issuer),
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    }))
}

/// The token endpoint: a code, once, for its ID token, when the client, its secret, the
/// redirect URI and the PKCE verifier are the ones the code was issued for.
async fn token(State(shared): State<Arc<Shared>>, body: String) -> (StatusCode, Json<Value>) {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let refused = (StatusCode::BAD_REQUEST, Json(json!({ "error": "invalid_grant" })));
    let Some(code) = lock(&shared.codes).remove(field("code")) else { return refused };
    let verifier = URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(field("code_verifier")));
    if field("grant_type") != "authorization_code"
        || field("client_id") != OIDC_AUDIENCE
        || field("client_secret") != OIDC_CLIENT_SECRET
        || field("redirect_uri") != code.redirect_uri
        || verifier != code.challenge
    {
        return refused;
    }
    let keys = lock(&shared.keys);
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(keys.rsa.kid.clone());
    let id_token = jsonwebtoken::encode(&header, &code.claims, &keys.rsa.encoding).expect("sign an ID token");
    (StatusCode::OK, Json(json!({ "id_token": id_token, "token_type": "Bearer", "expires_in": 600 })))
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.jwks_served.fetch_add(1, Ordering::SeqCst);
    let keys = lock(&shared.keys);
    let mut set = vec![keys.rsa.jwk.clone(), keys.ec.jwk.clone()];
    set.extend(keys.extra.iter().cloned());
    Json(json!({ "keys": set }))
}

fn rsa_key_pair(n: usize) -> KeyPair {
    let private = rsa::RsaPrivateKey::new(&mut OsRng, 2048).expect("an RSA key");
    let der = private.to_pkcs1_der().expect("PKCS#1 DER");
    let public_pem = private.to_public_key().to_public_key_pem(LineEnding::LF).expect("public PEM");
    let kid = format!("rsa-{n}-{}", uuid::Uuid::new_v4().simple());
    let encoding = EncodingKey::from_rsa_der(der.as_bytes());
    let mut jwk = public_jwk(&encoding, Algorithm::RS256, &kid);
    // Entra ID sends certificate fields too; they must not get in the way.
    jwk["x5t"] = json!(URL_SAFE_NO_PAD.encode(kid.as_bytes()));
    KeyPair { kid, encoding, jwk, public_pem }
}

fn ec_key_pair() -> KeyPair {
    let private = p256::SecretKey::random(&mut OsRng);
    let der = private.to_pkcs8_der().expect("PKCS#8 DER");
    let kid = format!("ec-{}", uuid::Uuid::new_v4().simple());
    let encoding = EncodingKey::from_ec_der(der.as_bytes());
    let jwk = public_jwk(&encoding, Algorithm::ES256, &kid);
    KeyPair { kid, encoding, jwk, public_pem: String::new() }
}

fn public_jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Value {
    let mut jwk = Jwk::from_encoding_key(key, alg).expect("a public JWK");
    jwk.common.key_id = Some(kid.to_owned());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    serde_json::to_value(jwk).expect("JWK as JSON")
}
