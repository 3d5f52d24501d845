//! What a credential says: the Open Badges 3.0 `OpenBadgeCredential` of an award, as the
//! payload of a VC-JWT (the credential's own members at the top level, with the JWT's `iss`,
//! `jti`, `sub`, `nbf` and, as certificates expire, `exp`), the issuer's `Profile`, one
//! `Achievement` per framework and level, and the Bitstring Status List that says which
//! credentials are revoked. Pure functions over what the service reads.

use std::io::Write as _;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use entity::framework_level;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Value, json};
use uuid::Uuid;

use super::keys::Keys;
use crate::framework::FrameworkData;

/// Entries in one status list: the 16 KiB the W3C Bitstring Status List asks for at least, so
/// that a list does not tell who is in it by its size.
pub const LIST_SIZE: i32 = 131_072;

const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
const OB_CONTEXT: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
/// The JSON-LD contexts of an OB 3.0 document: Verifiable Credentials 2.0, then Open Badges.
pub const CONTEXTS: [&str; 2] = [VC_CONTEXT, OB_CONTEXT];

/// The awarding body, as configured for this deployment, and where this service is reached.
#[derive(Clone, Debug)]
pub struct Issuer {
    /// This service's public address, without a trailing slash: every URL in a credential
    /// starts with it.
    pub base_url: String,
    pub name: String,
    pub url: String,
    pub email: Option<String>,
}

impl Issuer {
    /// The issuer's id, which dereferences to its profile.
    pub fn id(&self) -> String {
        format!("{}/issuer", self.base_url)
    }

    /// The issuer's OB 3.0 `Profile`.
    pub fn profile(&self) -> Value {
        let mut profile = json!({
            "@context": [VC_CONTEXT, OB_CONTEXT],
            "id": self.id(),
            "type": ["Profile"],
            "name": self.name,
            "url": self.url,
        });
        if let Some(email) = &self.email {
            profile["email"] = json!(email);
        }
        profile
    }

    pub fn credential_url(&self, id: Uuid) -> String {
        format!("{}/credentials/{id}", self.base_url)
    }

    pub fn certificate_url(&self, number: &str) -> String {
        format!("{}/certificates/{number}", self.base_url)
    }

    pub fn framework_url(&self, slug: &str) -> String {
        format!("{}/frameworks/{slug}", self.base_url)
    }

    pub fn achievement_url(&self, slug: &str, level: &str) -> String {
        format!("{}/achievements/{slug}/{}", self.base_url, level.to_ascii_lowercase())
    }

    /// The status list holding global index `index`, and the place in it.
    pub fn status_list_url(&self, list: i32) -> String {
        format!("{}/credentials/status/{list}", self.base_url)
    }
}

/// A school's stable identifier: its page in Get Information About Schools, by URN.
pub fn school_uri(urn: i32) -> String {
    format!("https://get-information-schools.service.gov.uk/Establishments/Establishment/Details/{urn}")
}

/// The list (from 1) and the place in it of a credential's status index.
pub fn list_place(status_index: i32) -> (i32, i32) {
    (status_index / LIST_SIZE + 1, status_index % LIST_SIZE)
}

/// The `Achievement` of one level of a framework.
pub fn achievement(issuer: &Issuer, data: &FrameworkData, level: &framework_level::Model) -> Value {
    let fw = &data.framework;
    let criteria = data.criteria.iter().filter(|c| c.level_id == level.id).count();
    let areas: Vec<&str> = data.areas.iter().map(|a| a.name.as_str()).collect();
    json!({
        "id": issuer.achievement_url(&fw.slug, &level.key),
        "type": ["Achievement"],
        "achievementType": "Certificate",
        "name": format!("{}: {}", fw.name, level.name),
        "description": format!(
            "The {} level of {}, an AI-in-education certification for schools in {} areas: {}.",
            level.name, fw.name, areas.len(), areas.join("; ")
        ),
        "criteria": { "narrative": format!(
            "The school rated itself against each of the {criteria} criteria of the {} level, none as \
             not yet met, linked evidence to every area, and an expert assessor of the framework \
             confirmed the award in a review. A certificate is valid for {} months.",
            level.name, fw.validity_months
        ) },
        "alignment": [{
            "type": ["Alignment"],
            "targetName": fw.name,
            "targetUrl": issuer.framework_url(&fw.slug),
            "targetDescription": format!("{}, version {}, level {} of {}", fw.name, fw.version, level.rank, data.levels.len()),
            "targetFramework": fw.name,
            "targetCode": level.key,
        }],
    })
}

/// What one award states.
pub struct Award<'a> {
    pub id: Uuid,
    pub number: &'a str,
    pub school_name: &'a str,
    pub urn: i32,
    pub data: &'a FrameworkData,
    pub level: &'a framework_level::Model,
    pub awarded_on: NaiveDate,
    /// The last day the certificate is valid.
    pub expires_on: Option<NaiveDate>,
    pub status_index: i32,
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// The end of the last valid day: the credential is valid through `day`.
fn end_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(23, 59, 59).unwrap_or_default().and_utc()
}

/// The VC-JWT payload of an award.
pub fn credential(issuer: &Issuer, award: &Award) -> Value {
    let id = issuer.credential_url(award.id);
    let subject = school_uri(award.urn);
    let fw = &award.data.framework;
    let from = start_of(award.awarded_on);
    let (list, place) = list_place(award.status_index);
    let list_url = issuer.status_list_url(list);
    let mut payload = json!({
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": format!("{} {}: {}", fw.name, award.level.name, award.school_name),
        "description": format!(
            "Certificate {} awarded to {} (URN {}) at the {} level of {}.",
            award.number, award.school_name, award.urn, award.level.name, fw.name
        ),
        "issuer": issuer.profile_without_context(),
        "validFrom": from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "credentialSubject": {
            "id": subject,
            "type": ["AchievementSubject"],
            "achievement": achievement(issuer, award.data, award.level),
        },
        "credentialStatus": {
            "id": format!("{list_url}#{place}"),
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": place.to_string(),
            "statusListCredential": list_url,
        },
        "iss": issuer.id(),
        "jti": id,
        "sub": subject,
        "nbf": from.timestamp(),
    });
    if let Some(until) = award.expires_on.map(end_of) {
        payload["validUntil"] = json!(until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        payload["exp"] = json!(until.timestamp());
    }
    payload
}

impl Issuer {
    fn profile_without_context(&self) -> Value {
        let mut profile = self.profile();
        profile.as_object_mut().map(|p| p.remove("@context"));
        profile
    }
}

/// The `BitstringStatusListCredential` of list `list`, with the bits of `revoked` (places
/// in the list) set.
pub fn status_list(issuer: &Issuer, list: i32, revoked: &[i32], now: DateTime<Utc>) -> Value {
    let url = issuer.status_list_url(list);
    json!({
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer.id(),
        "validFrom": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "credentialSubject": {
            "id": format!("{url}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode_list(revoked),
        },
        "iss": issuer.id(),
        "jti": url,
        "nbf": now.timestamp(),
    })
}

/// The list's bits, the first entry the most significant bit of the first byte, GZIP
/// compressed, in multibase base64url (a `u` and no padding), as the W3C Recommendation says.
pub fn encode_list(revoked: &[i32]) -> String {
    let mut bits = vec![0u8; LIST_SIZE as usize / 8];
    for &place in revoked.iter().filter(|p| (0..LIST_SIZE).contains(*p)) {
        bits[place as usize / 8] |= 0x80 >> (place % 8);
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let zipped = gz.write_all(&bits).and_then(|()| gz.finish()).unwrap_or_default();
    format!("u{}", URL_SAFE_NO_PAD.encode(zipped))
}

/// Whether place `place` is set in an encoded list; None when the list cannot be read.
pub fn bit_set(encoded: &str, place: i32) -> Option<bool> {
    use std::io::Read as _;
    let zipped = URL_SAFE_NO_PAD.decode(encoded.strip_prefix('u')?).ok()?;
    let mut bits = Vec::new();
    flate2::read::GzDecoder::new(zipped.as_slice()).take(LIST_SIZE as u64).read_to_end(&mut bits).ok()?;
    let byte = bits.get(usize::try_from(place).ok()? / 8)?;
    Some(byte & (0x80 >> (place % 8)) != 0)
}

/// A credential whose signature, key and issuer check out: its claims.
pub struct Authentic {
    pub claims: Value,
}

/// Checks that `jwt` was signed with RS256 by one of `keys` and names `issuer`; the reason
/// when it was not. Dates and status are the caller's to judge.
pub fn authenticate(keys: &Keys, issuer: &Issuer, jwt: &str) -> Result<Authentic, String> {
    let jwt = jwt.trim();
    let header =
        jsonwebtoken::decode_header(jwt).map_err(|_| "this is not a JWT (header.payload.signature)")?;
    if header.alg != Algorithm::RS256 {
        return Err(format!("signed with {:?}; this issuer signs with RS256", header.alg));
    }
    let kid = header.kid.ok_or("the JWT header names no key (kid)")?;
    let key = keys
        .decoding(&kid)
        .ok_or("signed by a key this issuer does not publish (it may have been retired)")?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Value>(jwt, key, &validation)
        .map_err(|_| "the signature does not match the credential")?;
    let claims = data.claims;
    if claims["iss"].as_str() != Some(issuer.id().as_str()) {
        return Err("the credential names another issuer".into());
    }
    let types = claims["type"].as_array().map(|t| t.iter().filter_map(Value::as_str).collect::<Vec<_>>());
    if !types.is_some_and(|t| t.contains(&"OpenBadgeCredential")) {
        return Err("not an OpenBadgeCredential".into());
    }
    Ok(Authentic { claims })
}

impl Authentic {
    /// The credential's id (its `jti`) when it is one of this issuer's credential URLs.
    pub fn credential_id(&self, issuer: &Issuer) -> Option<Uuid> {
        let prefix = format!("{}/credentials/", issuer.base_url);
        self.claims["jti"].as_str()?.strip_prefix(&prefix)?.parse().ok()
    }

    pub fn not_before(&self) -> Option<i64> {
        self.claims["nbf"].as_i64()
    }

    pub fn expires(&self) -> Option<i64> {
        self.claims["exp"].as_i64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bits_are_read_back_where_they_were_set() {
        let encoded = encode_list(&[0, 9, LIST_SIZE - 1, LIST_SIZE, -1]);
        assert!(encoded.starts_with('u'));
        for (place, set) in [(0, true), (1, false), (9, true), (8, false), (LIST_SIZE - 1, true)] {
            assert_eq!(bit_set(&encoded, place), Some(set), "place {place}");
        }
        assert_eq!(bit_set("not multibase", 0), None);
        assert_eq!(list_place(LIST_SIZE + 5), (2, 5));
    }
}
