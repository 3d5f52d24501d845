//! Signing in to the dashboard through an identity provider: the OpenID Connect authorization
//! code flow with PKCE, run by this server as a confidential client (the client secret stays
//! here). The ID token it ends with is verified like any other (`Oidc::verify`), its `nonce`
//! checked, and handed to the page, which then calls the API with it as a bearer token.
//!
//! What a sign-in in progress needs (its state, nonce and PKCE verifier) is kept in this
//! process for ten minutes: the callback must reach the instance that started it.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use anyhow::{Context as _, ensure};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use url::Url;

use super::{Oidc, OidcIssuer, UrlKind, check_url, get_json, read_json};

/// How long a started sign-in may take to come back.
const PENDING_FOR: Duration = Duration::from_secs(10 * 60);
/// Most sign-ins in progress at once; more are refused until some finish or expire.
const MAX_PENDING: usize = 10_000;

/// The dashboard's sign-in through the configured identity providers.
pub struct SignIn {
    oidc: Oidc,
    issuers: Vec<OidcIssuer>,
    client_secret: String,
    redirect_uri: String,
    pending: Mutex<HashMap<String, Pending>>,
}

struct Pending {
    issuer: String,
    nonce: String,
    verifier: String,
    started: Instant,
}

/// One identity provider to offer: `id` for `/auth/login?provider=`, `name` to show.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Provider {
    pub id: String,
    pub name: String,
}

/// A sign-in begun: send the browser to `location`, with `state` in its cookie.
#[derive(Debug)]
pub struct Started {
    pub state: String,
    pub location: String,
}

/// Why a sign-in did not end with a token. The text is shown on the page: no secrets, no URLs.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("no such identity provider")]
    UnknownProvider,
    #[error("too many sign-ins are in progress; try again in a few minutes")]
    Busy,
    #[error("the sign-in expired or began in another browser; sign in again")]
    UnknownState,
    #[error("the identity provider refused the sign-in ({0})")]
    Refused(String),
    /// The provider could not be reached or answered wrongly (the cause is logged).
    #[error("the identity provider could not be reached; try again shortly")]
    Unavailable,
    /// The ID token did not verify, or its nonce is not this sign-in's.
    #[error("the identity provider's answer did not verify: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
struct Endpoints {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct Nonce {
    nonce: Option<String>,
}

fn random() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl SignIn {
    /// Sign-in through `issuers` (in the order offered) as the client `oidc`'s audience names,
    /// with `client_secret`; the provider sends people back to `{public_url}/auth/callback`.
    pub fn new(oidc: Oidc, issuers: Vec<OidcIssuer>, client_secret: String, public_url: &str) -> Self {
        let redirect_uri = format!("{}/auth/callback", public_url.trim_end_matches('/'));
        Self { oidc, issuers, client_secret, redirect_uri, pending: Mutex::default() }
    }

    /// Where the providers send people back; registered with each provider.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Whether the callback is https (its cookie is then `Secure`).
    pub fn secure(&self) -> bool {
        self.redirect_uri.starts_with("https://")
    }

    /// The providers to offer, named by their issuer's host.
    pub fn providers(&self) -> Vec<Provider> {
        let host = |issuer: &str| {
            Url::parse(issuer)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| issuer.to_owned())
        };
        self.issuers
            .iter()
            .enumerate()
            .map(|(n, i)| Provider { id: n.to_string(), name: host(&i.issuer) })
            .collect()
    }

    /// Begins a sign-in with provider `id`: where to send the browser, and the state to bind
    /// to it (the caller sets it in a cookie that the callback must bring back).
    pub async fn start(&self, id: &str) -> Result<Started, SignInError> {
        let issuer = id.parse::<usize>().ok().and_then(|n| self.issuers.get(n));
        let issuer = issuer.ok_or(SignInError::UnknownProvider)?;
        let endpoints = self.endpoints(&issuer.issuer).await?;
        let (state, nonce, verifier) = (random(), random(), random());
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            pending.retain(|_, p| p.started.elapsed() < PENDING_FOR);
            if pending.len() >= MAX_PENDING {
                return Err(SignInError::Busy);
            }
            let started = Instant::now();
            pending.insert(
                state.clone(),
                Pending { issuer: issuer.issuer.clone(), nonce: nonce.clone(), verifier, started },
            );
        }
        let mut location =
            Url::parse(&endpoints.authorization_endpoint).map_err(|_| SignInError::Unavailable)?;
        location
            .query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.oidc.inner.audience)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", "openid profile")
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(Started { state, location: location.into() })
    }

    /// Ends the sign-in `state` (from the callback's query, equal to the one in the browser's
    /// cookie) with the provider's `code`: the verified ID token.
    pub async fn finish(&self, state: &str, code: &str) -> Result<String, SignInError> {
        let pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner).remove(state);
        let pending =
            pending.filter(|p| p.started.elapsed() < PENDING_FOR).ok_or(SignInError::UnknownState)?;
        let endpoints = self.endpoints(&pending.issuer).await?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("client_id", &self.oidc.inner.audience)
            .append_pair("client_secret", &self.client_secret)
            .append_pair("code_verifier", &pending.verifier)
            .finish();
        let res = self
            .oidc
            .inner
            .http
            .post(&endpoints.token_endpoint)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| unavailable(&anyhow::Error::new(e)))?;
        if res.status().is_client_error() {
            tracing::warn!(status = %res.status(), issuer = %pending.issuer, "the token endpoint refused a code");
            return Err(SignInError::Refused("the code was not accepted".into()));
        }
        let answer: TokenAnswer = match res.error_for_status() {
            Ok(res) => read_json(res).await.map_err(|e| unavailable(&e))?,
            Err(e) => return Err(unavailable(&anyhow::Error::new(e))),
        };
        let token =
            answer.id_token.ok_or_else(|| SignInError::Invalid("no ID token in the answer".into()))?;
        let identity = self.oidc.verify(&token).await.map_err(|e| SignInError::Invalid(e.to_string()))?;
        if identity.issuer != pending.issuer {
            return Err(SignInError::Invalid("the ID token is from another issuer".into()));
        }
        // Verified above; read once more for the one claim `verify` does not keep.
        let claims: Nonce = jsonwebtoken::dangerous::insecure_decode_claims(&token)
            .map_err(|_| SignInError::Invalid("the ID token's claims are not readable".into()))?;
        if claims.nonce.as_deref() != Some(pending.nonce.as_str()) {
            return Err(SignInError::Invalid("the ID token is not for this sign-in (nonce)".into()));
        }
        Ok(token)
    }

    /// The provider's authorization and token endpoints, from its discovery document.
    async fn endpoints(&self, issuer: &str) -> Result<Endpoints, SignInError> {
        let read = async {
            let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
            let doc: Endpoints = get_json(&self.oidc.inner.http, &url).await.context("discovery document")?;
            ensure!(doc.issuer == issuer, "the discovery document names issuer {:?}", doc.issuer);
            check_url(&doc.authorization_endpoint, UrlKind::Endpoint).context("authorization_endpoint")?;
            check_url(&doc.token_endpoint, UrlKind::Endpoint).context("token_endpoint")?;
            Ok(doc)
        };
        read.await.map_err(|e| unavailable(&e))
    }
}

fn unavailable(e: &anyhow::Error) -> SignInError {
    tracing::warn!(error = format!("{e:#}"), "sign-in through an identity provider failed");
    SignInError::Unavailable
}
