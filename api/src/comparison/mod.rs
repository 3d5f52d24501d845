//! Where a school stands beside its peers: per area of the framework, its self-assessment
//! (the share of its target level's criteria it rates SECURE or better, and its evidence)
//! beside the same figures for its cohort, its trust and its partnership. A group's figure is
//! shown only when enough of its schools have ratings (the partnership's
//! `comparisonMinSchools`, never below 3), so that no one school's drafts can be worked out
//! from an average. `read` loads a partnership's figures in a fixed number of statements;
//! the figures themselves are pure functions, below.

pub mod focus;
pub mod graphql;
pub mod read;

use std::collections::HashMap;

use uuid::Uuid;

/// The smallest group whose figures are ever shown.
pub const MIN_GROUP_FLOOR: i32 = 3;

/// One school's figures in one area.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AreaFigures {
    /// Criteria of the target level in the area rated SECURE or EXCEEDING.
    pub secure: usize,
    /// Criteria of the target level in the area.
    pub total: usize,
    /// Evidence items linked to a criterion of the area.
    pub evidence: usize,
}

impl AreaFigures {
    /// The share rated SECURE or better, in percent (one decimal).
    pub fn secure_percent(&self) -> f64 {
        percent(self.secure, self.total)
    }
}

/// `part` of `whole` in percent, one decimal; 0 of nothing.
pub(crate) fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 { 0.0 } else { (part as f64 * 1000.0 / whole as f64).round() / 10.0 }
}

/// One member school: its groups, and its figures by area key when it has rated anything.
#[derive(Clone, Debug, Default)]
pub struct SchoolFigures {
    pub trust: Option<Uuid>,
    pub cohort: Option<Uuid>,
    /// None when the school had no rating on the day.
    pub areas: Option<HashMap<String, AreaFigures>>,
    /// Codes of the target level's criteria it rated NOT_YET.
    pub not_yet: Vec<String>,
    /// Mentoring a school now, or certified: it can help others.
    pub may_mentor: bool,
}

/// Which schools a group figure is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Cohort(Uuid),
    Trust(Uuid),
    Partnership,
}

/// A group's figure in one area, or why it is hidden.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupFigure {
    /// Schools of the group with ratings.
    pub schools: usize,
    /// The mean of their shares rated SECURE or better, in percent; None when hidden.
    pub secure_percent: Option<f64>,
    /// The mean of their evidence counts; None when hidden.
    pub evidence_mean: Option<f64>,
    pub hidden_because: Option<String>,
}

/// A partnership's figures on one day.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    /// Area keys, in the framework's order, with their names.
    pub areas: Vec<(String, String)>,
    pub schools: HashMap<Uuid, SchoolFigures>,
    /// Groups with fewer schools with ratings show no figures.
    pub min_schools: usize,
}

impl Figures {
    pub fn group(&self, group: Group, area: &str) -> GroupFigure {
        let members = self.schools.values().filter(|s| match group {
            Group::Cohort(c) => s.cohort == Some(c),
            Group::Trust(t) => s.trust == Some(t),
            Group::Partnership => true,
        });
        let figures: Vec<AreaFigures> = members
            .filter_map(|s| s.areas.as_ref())
            .map(|a| a.get(area).copied().unwrap_or_default())
            .collect();
        let n = figures.len();
        if n < self.min_schools {
            return GroupFigure {
                schools: n,
                secure_percent: None,
                evidence_mean: None,
                hidden_because: Some(format!(
                    "{n} of its schools have ratings; figures are shown from {}",
                    self.min_schools
                )),
            };
        }
        let mean = |f: &dyn Fn(&AreaFigures) -> f64| {
            (figures.iter().map(f).sum::<f64>() / n as f64 * 10.0).round() / 10.0
        };
        GroupFigure {
            schools: n,
            secure_percent: Some(mean(&|a| a.secure_percent())),
            evidence_mean: Some(mean(&|a| a.evidence as f64)),
            hidden_because: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn school(cohort: u128, secure: usize, evidence: usize) -> SchoolFigures {
        let areas = HashMap::from([("A".to_owned(), AreaFigures { secure, total: 4, evidence })]);
        SchoolFigures { cohort: Some(Uuid::from_u128(cohort)), areas: Some(areas), ..Default::default() }
    }

    #[test]
    fn groups_below_the_minimum_are_hidden_and_the_rest_are_means() {
        let mut f =
            Figures { areas: vec![("A".into(), "Area".into())], min_schools: 3, ..Default::default() };
        for (i, s) in
            [school(1, 4, 2), school(1, 2, 0), school(1, 1, 1), school(2, 0, 5)].into_iter().enumerate()
        {
            f.schools.insert(Uuid::from_u128(100 + i as u128), s);
        }
        f.schools.insert(
            Uuid::from_u128(200),
            SchoolFigures { cohort: Some(Uuid::from_u128(2)), ..Default::default() },
        );
        let c1 = f.group(Group::Cohort(Uuid::from_u128(1)), "A");
        // (100 + 50 + 25) / 3 = 58.3; (2 + 0 + 1) / 3 = 1.0
        assert_eq!((c1.schools, c1.secure_percent, c1.evidence_mean), (3, Some(58.3), Some(1.0)));
        let c2 = f.group(Group::Cohort(Uuid::from_u128(2)), "A");
        assert_eq!((c2.schools, c2.secure_percent), (1, None));
        assert!(c2.hidden_because.unwrap().contains("1 of its schools"));
        let all = f.group(Group::Partnership, "A");
        // (100 + 50 + 25 + 0) / 4 = 43.75 -> 43.8
        assert_eq!((all.schools, all.secure_percent, all.evidence_mean), (4, Some(43.8), Some(2.0)));
    }
}
