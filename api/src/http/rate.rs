//! Rate limits: requests a minute per client address (every route but the probes and /metrics)
//! and per signed-in caller (GraphQL and the reports, once the token verifies). A request past
//! either is answered 429 with `Retry-After` (whole seconds) and the code `RATE_LIMITED`.
//!
//! Each limit is a GCRA bucket per key (governor): a key may spend its whole minute's allowance
//! at once and then gets one request back every 60/N seconds.

use std::{
    hash::Hash,
    net::{IpAddr, Ipv6Addr, SocketAddr},
    num::NonZeroU32,
    sync::{Arc, Weak},
    time::Duration,
};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header::RETRY_AFTER},
    middleware::Next,
    response::Response,
};
use governor::{
    DefaultKeyedRateLimiter, Quota,
    clock::{Clock, DefaultClock},
};

use super::one_error;
use crate::auth::Viewer;

/// The stable `extensions.code` of a throttled request.
pub const CODE: &str = "RATE_LIMITED";

/// Paths never limited: probes and scrapes must see the server as it is, busy or not.
const UNLIMITED_PATHS: [&str; 4] = ["/health", "/health/live", "/health/ready", "/metrics"];

/// How often keys whose bucket has refilled are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The limiters every request shares. `Default` limits nothing (what `AppState::new` starts
/// with); the `serve` command sets them from its settings.
#[derive(Clone, Default)]
pub struct RateLimits {
    by_address: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    by_caller: Option<Arc<DefaultKeyedRateLimiter<String>>>,
    trust_forwarded_for: bool,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("by_address", &self.by_address.is_some())
            .field("by_caller", &self.by_caller.is_some())
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .finish()
    }
}

impl RateLimits {
    /// Requests a minute from one address by default: a school or trust often reaches us through
    /// one public address, so this leaves room for dozens of staff loading dashboards at once.
    pub const DEFAULT_PER_ADDRESS: u32 = 600;

    /// Requests a minute from one signed-in caller by default: 5 a second sustained is far more
    /// than a person clicking through pages or a script importing a CSV at a time needs.
    pub const DEFAULT_PER_SUBJECT: u32 = 300;

    /// `per_address` requests a minute from one client address and `per_subject` from one
    /// signed-in caller; 0 turns that limit off. With `trust_forwarded_for` the client address is
    /// the right-most `X-Forwarded-For` entry, else the connection's peer.
    pub fn new(per_address: u32, per_subject: u32, trust_forwarded_for: bool) -> Self {
        Self { by_address: limiter(per_address), by_caller: limiter(per_subject), trust_forwarded_for }
    }

    /// The address a request is counted against: the TCP peer, or, behind a trusted proxy, the
    /// right-most `X-Forwarded-For` entry. None when served without a peer address (in-process).
    fn client_address(&self, request: &Request) -> Option<IpAddr> {
        let peer = request.extensions().get::<ConnectInfo<SocketAddr>>()?.0.ip();
        let forwarded = self.trust_forwarded_for.then(|| forwarded_for(request.headers())).flatten();
        Some(forwarded.unwrap_or(peer))
    }

    /// Takes one request from the caller's allowance; the 429 to answer instead once it is
    /// spent. Anonymous callers are left to the address limit.
    pub(super) fn refuse_caller(&self, viewer: &Viewer) -> Option<Response> {
        self.caller_wait(viewer).map(|wait| throttled("caller", wait))
    }

    /// The same for an operation over a WebSocket: its answer instead once the allowance is
    /// spent, one error with `RATE_LIMITED` and `retryAfter` (seconds) in its extensions.
    pub(super) fn refuse_operation(&self, viewer: &Viewer) -> Option<async_graphql::Response> {
        let wait = self.caller_wait(viewer)?;
        let seconds = counted("caller", wait);
        let mut error = async_graphql::ServerError::new(refusal("caller", seconds), None);
        let extensions = error.extensions.get_or_insert_with(Default::default);
        extensions.set("code", CODE);
        extensions.set("retryAfter", seconds);
        Some(async_graphql::Response::from_errors(vec![error]))
    }

    /// Takes one request from a verified caller's allowance; how long to wait when it is spent.
    fn caller_wait(&self, viewer: &Viewer) -> Option<Duration> {
        let (Some(limiter), Some(key)) = (&self.by_caller, caller_key(viewer)) else { return None };
        check(limiter, &key).err()
    }
}

/// A limiter of `per_minute` for each key, swept of idle keys in the background; None for 0.
fn limiter<K>(per_minute: u32) -> Option<Arc<DefaultKeyedRateLimiter<K>>>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    let limiter = Arc::new(DefaultKeyedRateLimiter::keyed(Quota::per_minute(NonZeroU32::new(per_minute)?)));
    sweep(Arc::downgrade(&limiter));
    Some(limiter)
}

/// Memory: a limiter keeps a state for every key it has seen. Once a minute, the keys whose
/// bucket has refilled are dropped (their state is the same as a new key's, so nothing is
/// forgotten that matters), so the store holds only the keys seen in the last minute or two,
/// however many come and go over a day. The task ends once the limiter is dropped.
fn sweep<K>(limiter: Weak<DefaultKeyedRateLimiter<K>>)
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("rate limits built outside a Tokio runtime: idle keys are never dropped");
        return;
    };
    runtime.spawn(async move {
        let mut every = tokio::time::interval_at(tokio::time::Instant::now() + SWEEP_EVERY, SWEEP_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let Some(limiter) = limiter.upgrade() else { break };
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    });
}

/// Takes one request from `key`'s bucket; how long until the next is allowed, if none is left.
fn check<K: Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Result<(), Duration> {
    limiter.check_key(key).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
}

/// Middleware on every route: counts each request against its client address, except on the
/// probes and /metrics. Requests without a peer address (served in-process) are not counted.
pub(super) async fn by_address(State(limits): State<RateLimits>, request: Request, next: Next) -> Response {
    if let Some(limiter) = &limits.by_address
        && !UNLIMITED_PATHS.contains(&request.uri().path())
        && let Some(address) = limits.client_address(&request)
        && let Err(wait) = check(limiter, &address_key(address))
    {
        return throttled("address", wait);
    }
    next.run(request).await
}

/// The right-most `X-Forwarded-For` entry: the address our reverse proxy saw and appended.
/// Entries left of it are whatever the client chose to send, so they are never used. None when
/// the header is missing or its last entry is not an address (`1.2.3.4`, `1.2.3.4:5`, `::1` or
/// `[::1]:5`), and the peer (the proxy) is counted instead.
fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let last = headers.get_all("x-forwarded-for").iter().next_back()?.to_str().ok()?;
    let entry = last.rsplit(',').next()?.trim();
    entry.parse::<IpAddr>().ok().or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// IPv4 addresses count one by one; IPv6 ones by their /64, the block one subscriber is
/// usually given, since a host can pick any address in it at will.
fn address_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        v4 => v4,
    }
}

/// Who a verified caller is, for their own allowance: a person's access grant (theirs alone,
/// for one issuer's subject), a service token's subject, or a person who has no grant yet by
/// issuer and subject.
fn caller_key(viewer: &Viewer) -> Option<String> {
    match viewer {
        Viewer::Anonymous => None,
        Viewer::Signed(actor) => Some(match actor.grant {
            Some(grant) => format!("grant {grant}"),
            None => format!("token {}", actor.subject),
        }),
        Viewer::Unbound(person) => Some(format!("person {} {}", person.issuer, person.subject)),
    }
}

/// The 429: the GraphQL error shape with `RATE_LIMITED`, and `Retry-After` in whole seconds,
/// rounded up so that a client waiting that long is let through.
fn throttled(limit: &'static str, wait: Duration) -> Response {
    let seconds = counted(limit, wait);
    let mut answer = one_error(StatusCode::TOO_MANY_REQUESTS, refusal(limit, seconds), CODE);
    answer.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
    answer
}

/// Counts a refusal in /metrics; the wait in whole seconds.
fn counted(limit: &'static str, wait: Duration) -> u64 {
    metrics::counter!("http_rate_limited_total", "limit" => limit).increment(1);
    let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    tracing::debug!(limit, retry_after = seconds, "rate limited");
    seconds
}

fn refusal(limit: &str, seconds: u64) -> String {
    let who = if limit == "address" { "this address" } else { "this caller" };
    format!("too many requests from {who}: try again in {seconds} s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_of_one_slash_64_share_a_key_and_ipv4_ones_do_not() {
        let key = |s: &str| address_key(s.parse().unwrap());
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
        // An IPv4 client on a dual-stack socket counts as its IPv4 address.
        assert_eq!(key("::ffff:192.0.2.1"), key("192.0.2.1"));
    }

    #[test]
    fn only_the_right_most_forwarded_entry_counts() {
        let headers = |values: &[&str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
            }
            h
        };
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(forwarded_for(&headers(&["203.0.113.9, 198.51.100.7"])), ip("198.51.100.7"));
        assert_eq!(forwarded_for(&headers(&["203.0.113.9", "198.51.100.7:4431"])), ip("198.51.100.7"));
        assert_eq!(forwarded_for(&headers(&["[2001:db8::1]:443"])), ip("2001:db8::1"));
        assert_eq!(forwarded_for(&headers(&["198.51.100.7, unknown"])), None);
        assert_eq!(forwarded_for(&HeaderMap::new()), None);
    }

    #[test]
    fn a_zero_turns_a_limit_off() {
        let limits = RateLimits::new(0, 3, false);
        assert!(limits.by_address.is_none() && limits.by_caller.is_some());
    }
}
