//! What the city should do next: the areas where most schools with ratings are below SECURE,
//! the criteria most often rated NOT_YET, and the schools able to mentor (mentoring now, or
//! certified) that rate every criterion of those areas SECURE or better. Pure, over `Figures`.

use std::collections::HashMap;

use uuid::Uuid;

use super::Figures;

/// An area and how many schools with ratings are below SECURE in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeakArea {
    pub key: String,
    pub name: String,
    /// Schools with a criterion of the area rated below SECURE, or unrated.
    pub below: usize,
    /// Schools with ratings.
    pub rated: usize,
}

/// A school that can help in some of the weakest areas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrongSchool {
    pub school: Uuid,
    /// Keys of the weak areas it rates fully SECURE or better, in the areas' order.
    pub areas: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Focus {
    pub weakest: Vec<WeakArea>,
    /// Criterion codes and how many schools rate them NOT_YET, most first.
    pub not_yet: Vec<(String, usize)>,
    pub mentors: Vec<StrongSchool>,
}

/// The `first` weakest areas (most schools below, then the framework's order), the `first`
/// criteria most often NOT_YET, and the schools able to mentor that are strong in those areas.
pub fn focus(figures: &Figures, first: usize) -> Focus {
    let rated: Vec<(&Uuid, &super::SchoolFigures)> =
        figures.schools.iter().filter(|(_, s)| s.areas.is_some()).collect();
    let mut weakest: Vec<WeakArea> = figures
        .areas
        .iter()
        .map(|(key, name)| WeakArea {
            key: key.clone(),
            name: name.clone(),
            below: rated
                .iter()
                .filter(|(_, s)| s.areas.as_ref().and_then(|a| a.get(key)).is_none_or(|f| f.secure < f.total))
                .count(),
            rated: rated.len(),
        })
        .filter(|w| w.below > 0)
        .collect();
    // A stable sort keeps the framework's order among equals.
    weakest.sort_by_key(|w| std::cmp::Reverse(w.below));
    weakest.truncate(first);

    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (_, s) in &rated {
        for code in &s.not_yet {
            *counts.entry(code.as_str()).or_default() += 1;
        }
    }
    let mut not_yet: Vec<(String, usize)> = counts.into_iter().map(|(c, n)| (c.to_owned(), n)).collect();
    not_yet.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    not_yet.truncate(first);

    let mut mentors: Vec<StrongSchool> = rated
        .iter()
        .filter(|(_, s)| s.may_mentor)
        .filter_map(|(id, s)| {
            let areas: Vec<String> = weakest
                .iter()
                .filter(|w| {
                    s.areas
                        .as_ref()
                        .and_then(|a| a.get(&w.key))
                        .is_some_and(|f| f.total > 0 && f.secure == f.total)
                })
                .map(|w| w.key.clone())
                .collect();
            (!areas.is_empty()).then_some(StrongSchool { school: **id, areas })
        })
        .collect();
    mentors.sort_by(|a, b| b.areas.len().cmp(&a.areas.len()).then_with(|| a.school.cmp(&b.school)));
    Focus { weakest, not_yet, mentors }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::comparison::{AreaFigures, SchoolFigures};

    fn school(a: (usize, usize), b: (usize, usize), not_yet: &[&str], may_mentor: bool) -> SchoolFigures {
        let f = |(secure, total)| AreaFigures { secure, total, evidence: 0 };
        SchoolFigures {
            areas: Some(HashMap::from([("A".to_owned(), f(a)), ("B".to_owned(), f(b))])),
            not_yet: not_yet.iter().map(|c| c.to_string()).collect(),
            may_mentor,
            ..Default::default()
        }
    }

    #[test]
    fn the_weakest_areas_the_commonest_gaps_and_who_is_strong_there() {
        let mut f = Figures {
            areas: vec![("A".into(), "Alpha".into()), ("B".into(), "Beta".into())],
            ..Default::default()
        };
        f.schools.insert(Uuid::from_u128(1), school((1, 3), (3, 3), &["A-1", "A-2"], false));
        f.schools.insert(Uuid::from_u128(2), school((2, 3), (2, 3), &["A-1"], false));
        f.schools.insert(Uuid::from_u128(3), school((3, 3), (3, 3), &[], true));
        f.schools.insert(Uuid::from_u128(4), school((3, 3), (1, 3), &["B-1"], true));
        f.schools.insert(Uuid::from_u128(5), SchoolFigures { may_mentor: true, ..Default::default() });
        let focus = focus(&f, 3);
        // A: schools 1 and 2 below; B: schools 2 and 4 below; equal, so the framework's order.
        assert_eq!(
            focus.weakest.iter().map(|w| (w.key.as_str(), w.below, w.rated)).collect::<Vec<_>>(),
            [("A", 2, 4), ("B", 2, 4)]
        );
        assert_eq!(focus.not_yet, [("A-1".to_owned(), 2), ("A-2".to_owned(), 1), ("B-1".to_owned(), 1)]);
        // School 3 is strong in both; school 4 in A only; school 5 has no ratings.
        assert_eq!(
            focus.mentors,
            [
                StrongSchool { school: Uuid::from_u128(3), areas: vec!["A".into(), "B".into()] },
                StrongSchool { school: Uuid::from_u128(4), areas: vec!["A".into()] },
            ]
        );
    }
}
