//! Certificates after the award: the public check, the signed credential of each award, its
//! verification, revocation, and the documents anyone may fetch (the issuer's keys and
//! profile, achievements, status lists).

use std::{collections::HashMap, sync::Arc};

use chrono::{NaiveDate, Utc};
use entity::{certification, credential, school};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, JoinType,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, RelationTrait, Set,
};
use serde_json::Value;
use uuid::Uuid;

use super::{
    Credentials, Verdict,
    credential::{self as vc, Award, LIST_SIZE},
};
use crate::{
    auth::Actor,
    certification::{
        Stage,
        journey::{find_visible, now, transition},
    },
    error::{ApiError, ApiResult},
    events::EventBus,
    framework::{FrameworkData, service as frameworks},
    validate,
};

const MAX_REASON: usize = 2_000;

/// A certificate as anyone may check it: public facts only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateView {
    pub number: String,
    pub school_name: String,
    pub urn: i32,
    pub framework_name: String,
    pub level_name: String,
    pub level_rank: i32,
    pub level_count: i32,
    pub awarded_on: NaiveDate,
    pub expires_on: NaiveDate,
    /// The day it was revoked, if it was.
    pub revoked_on: Option<NaiveDate>,
    /// The signed credential's id, once issued.
    pub credential: Option<Uuid>,
}

impl CertificateView {
    /// Valid on `day`: awarded, not expired, not revoked.
    pub fn valid_on(&self, day: NaiveDate) -> bool {
        self.revoked_on.is_none() && self.awarded_on <= day && day <= self.expires_on
    }
}

#[derive(Clone)]
pub struct CertificateService {
    db: DatabaseConnection,
    events: EventBus,
    credentials: Arc<Credentials>,
}

/// A certificate number as stored (upper case), or NOT_FOUND for text no number could be.
fn certificate_number(text: &str) -> ApiResult<String> {
    let number = text.trim().to_ascii_uppercase();
    if number.len() > 40 || !validate::matchable(&number) {
        return Err(ApiError::NotFound("certificate".into()));
    }
    Ok(number)
}

impl CertificateService {
    pub fn new(db: DatabaseConnection, events: EventBus, credentials: Arc<Credentials>) -> Self {
        Self { db, events, credentials }
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    pub fn credentials_arc(&self) -> Arc<Credentials> {
        self.credentials.clone()
    }

    /// The public certificate check, by number; NOT_FOUND for anything else.
    pub async fn certificate(&self, number: &str) -> ApiResult<CertificateView> {
        let number = certificate_number(number)?;
        let not_found = || ApiError::NotFound("certificate".into());
        let (journey, school) = certification::Entity::find()
            .filter(certification::Column::CertificateNumber.eq(&number))
            .find_also_related(school::Entity)
            .one(&self.db)
            .await?
            .ok_or_else(not_found)?;
        let credential = credential::Entity::find()
            .filter(credential::Column::CertificationId.eq(journey.id))
            .one(&self.db)
            .await?;
        let data = frameworks::data(&self.db, journey.framework_id).await?;
        let level = journey.awarded_level_id.and_then(|id| data.level(id));
        let (Some(school), Some(level), Some(awarded_on), Some(expires_on)) =
            (school, level, journey.awarded_on, journey.expires_on)
        else {
            return Err(not_found());
        };
        let revoked = Stage::from_db(&journey.stage) == Stage::Revoked;
        Ok(CertificateView {
            number,
            school_name: school.name,
            urn: school.urn,
            framework_name: data.framework.name.clone(),
            level_name: level.name.clone(),
            level_rank: level.rank,
            level_count: data.levels.len() as i32,
            awarded_on,
            expires_on,
            revoked_on: revoked.then(|| journey.stage_changed_at.date_naive()),
            credential: credential.map(|c| c.id),
        })
    }

    /// Revokes a certificate: the journey goes to REVOKED with the reason in its history, and
    /// its credential's bit is set in the status list. Assessors and city admins of the
    /// school's partnership.
    pub async fn revoke(&self, actor: &Actor, number: &str, reason: &str) -> ApiResult<certification::Model> {
        actor.may_revoke()?;
        let reason = validate::long_text("reason", reason, MAX_REASON)?;
        let number = certificate_number(number)?;
        let not_found = || ApiError::NotFound("certificate".into());
        let id = certification::Entity::find()
            .select_only()
            .column(certification::Column::Id)
            .filter(certification::Column::CertificateNumber.eq(&number))
            .into_tuple::<Uuid>()
            .one(&self.db)
            .await?
            .ok_or_else(not_found)?;
        let txn = crate::db::begin_write(&self.db).await?;
        let journey = find_visible(&txn, &actor.partnerships, id, true).await.map_err(|_| not_found())?;
        let from = Stage::from_db(&journey.stage);
        let journey = transition(&txn, actor, journey, Stage::Revoked, None, Some(reason), |_| {}).await?;
        txn.commit().await?;
        tracing::info!(certification.id = %journey.id, "certificate revoked");
        self.events.stage_changed(&journey, Some(from)).await;
        Ok(journey)
    }

    /// The credential with this id.
    pub async fn credential(&self, id: Uuid) -> ApiResult<credential::Model> {
        credential::Entity::find()
            .filter(credential::Column::Id.eq(id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::NotFound("credential".into()))
    }

    /// Checks any credential: signature and key, issuer, dates, and revocation.
    pub async fn verify(&self, jwt: &str) -> ApiResult<Verdict> {
        let creds = &self.credentials;
        let authentic = match vc::authenticate(&creds.keys, &creds.issuer, jwt) {
            Ok(a) => a,
            Err(reason) => return Ok(Verdict::refused(reason)),
        };
        let record = match authentic.credential_id(&creds.issuer) {
            Some(id) => credential::Entity::find()
                .filter(credential::Column::Id.eq(id))
                .find_also_related(certification::Entity)
                .one(&self.db)
                .await?
                .and_then(|(_, journey)| journey),
            None => None,
        };
        let Some(journey) = record else {
            return Ok(Verdict::refused("this issuer has no record of the credential".into()));
        };
        let now = Utc::now();
        let mut verdict = Verdict {
            valid: false,
            authentic: true,
            revoked: false,
            expired: false,
            reason: None,
            certificate_number: journey.certificate_number.clone(),
        };
        if Stage::from_db(&journey.stage) == Stage::Revoked {
            verdict.revoked = true;
            verdict.reason = Some(format!("revoked on {}", journey.stage_changed_at.date_naive()));
        } else if authentic.expires().is_some_and(|exp| exp < now.timestamp()) {
            verdict.expired = true;
            verdict.reason = journey.expires_on.map(|d| format!("expired on {d}"));
        } else if authentic.not_before().is_some_and(|nbf| nbf > now.timestamp()) {
            verdict.reason = Some("not valid yet".into());
        } else {
            verdict.valid = true;
        }
        Ok(verdict)
    }

    /// Status list `list` as a signed credential, with the bits of revoked credentials set.
    pub async fn status_list(&self, list: i32) -> ApiResult<(Value, String)> {
        let not_found = || ApiError::NotFound("status list".into());
        let first = list.checked_sub(1).and_then(|l| l.checked_mul(LIST_SIZE)).ok_or_else(not_found)?;
        let last = first.checked_add(LIST_SIZE).ok_or_else(not_found)?;
        let issued = credential::Entity::find()
            .filter(credential::Column::StatusIndex.gte(first))
            .count(&self.db)
            .await?;
        if list < 1 || (list > 1 && issued == 0) {
            return Err(not_found());
        }
        let revoked: Vec<i32> = credential::Entity::find()
            .select_only()
            .column(credential::Column::StatusIndex)
            .join(JoinType::InnerJoin, credential::Relation::Certification.def())
            .filter(credential::Column::StatusIndex.gte(first))
            .filter(credential::Column::StatusIndex.lt(last))
            .filter(certification::Column::Stage.eq(Stage::Revoked.as_db()))
            .into_tuple()
            .all(&self.db)
            .await?;
        let places: Vec<i32> = revoked.into_iter().map(|i| vc::list_place(i).1).collect();
        let claims = vc::status_list(&self.credentials.issuer, list, &places, Utc::now());
        let jwt = self.credentials.sign(&claims)?.1;
        Ok((claims, jwt))
    }

    /// The achievement of a framework's level (its latest version), as JSON.
    pub async fn achievement(&self, slug: &str, level: &str) -> ApiResult<Value> {
        let data = self.latest(slug).await?;
        let level = data
            .levels
            .iter()
            .find(|l| l.key.eq_ignore_ascii_case(level))
            .ok_or_else(|| ApiError::NotFound("achievement".into()))?;
        let mut achievement = vc::achievement(&self.credentials.issuer, &data, level);
        achievement["@context"] = serde_json::json!(vc::CONTEXTS);
        Ok(achievement)
    }

    /// A framework's public outline (latest version): name, version, levels, areas.
    pub async fn framework(&self, slug: &str) -> ApiResult<Value> {
        let data = self.latest(slug).await?;
        let fw = &data.framework;
        Ok(serde_json::json!({
            "id": self.credentials.issuer.framework_url(&fw.slug),
            "name": fw.name,
            "version": fw.version,
            "validityMonths": fw.validity_months,
            "levels": data.levels.iter().map(|l| serde_json::json!({
                "key": l.key, "name": l.name, "rank": l.rank,
                "achievement": self.credentials.issuer.achievement_url(&fw.slug, &l.key),
            })).collect::<Vec<_>>(),
            "areas": data.areas.iter().map(|a| serde_json::json!({ "key": a.key, "name": a.name })).collect::<Vec<_>>(),
        }))
    }

    async fn latest(&self, slug: &str) -> ApiResult<Arc<FrameworkData>> {
        if slug.len() > 100 || !validate::matchable(slug) {
            return Err(ApiError::NotFound("framework".into()));
        }
        let latest = frameworks::latest(&self.db, slug).await?;
        frameworks::data(&self.db, latest.id).await
    }

    /// Issues the credentials of certified journeys that have none (awards made before
    /// credentials existed, or loaded by `seed`), a journey at a time; how many it issued.
    pub async fn issue_missing(&self) -> ApiResult<usize> {
        let mut issued = 0;
        let mut data: HashMap<Uuid, Arc<FrameworkData>> = HashMap::new();
        loop {
            let journeys = certification::Entity::find()
                .join(JoinType::LeftJoin, certification::Relation::Credential.def())
                .filter(certification::Column::Stage.eq(Stage::Certified.as_db()))
                .filter(certification::Column::CertificateNumber.is_not_null())
                .filter(credential::Column::StatusIndex.is_null())
                .order_by_asc(certification::Column::AwardedOn)
                .limit(100)
                .all(&self.db)
                .await?;
            if journeys.is_empty() {
                return Ok(issued);
            }
            for journey in journeys {
                let fw = match data.get(&journey.framework_id) {
                    Some(d) => d.clone(),
                    None => {
                        let d = frameworks::data(&self.db, journey.framework_id).await?;
                        data.insert(journey.framework_id, d.clone());
                        d
                    }
                };
                let txn = crate::db::begin_write(&self.db).await?;
                issue(&txn, &self.credentials, &journey, &fw).await?;
                txn.commit().await?;
                issued += 1;
            }
        }
    }
}

/// Issues the credential of a journey just certified, in the caller's transaction.
pub async fn issue(
    txn: &impl ConnectionTrait,
    credentials: &Credentials,
    journey: &certification::Model,
    data: &FrameworkData,
) -> ApiResult<credential::Model> {
    let school = school::Entity::find_by_id(journey.school_id)
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::NotFound("school".into()))?;
    let (Some(number), Some(level), Some(awarded_on)) = (
        journey.certificate_number.as_deref(),
        journey.awarded_level_id.and_then(|id| data.level(id)),
        journey.awarded_on,
    ) else {
        return Err(anyhow::anyhow!("journey {} is certified without its certificate", journey.id).into());
    };
    let id = Uuid::new_v4();
    let row = credential::ActiveModel {
        id: Set(id),
        certification_id: Set(journey.id),
        kid: Set(String::new()),
        issued_at: Set(now()),
        jwt: Set(String::new()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let award = Award {
        id,
        number,
        school_name: &school.name,
        urn: school.urn,
        data,
        level,
        awarded_on,
        expires_on: journey.expires_on,
        status_index: row.status_index,
    };
    let (kid, jwt) = credentials.sign(&vc::credential(&credentials.issuer, &award))?;
    let mut row: credential::ActiveModel = row.into();
    row.kid = Set(kid);
    row.jwt = Set(jwt);
    Ok(row.update(txn).await?)
}
