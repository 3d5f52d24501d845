//! Expert review of submitted journeys: the queue, claims and decisions (`service`), and the
//! Review type with its queries and mutations (`graphql`).

pub mod graphql;
pub mod service;

pub use graphql::Review;
pub use service::ReviewService;

/// How a review ended.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewOutcome {
    Certified,
    Returned,
}

impl ReviewOutcome {
    pub fn as_db(self) -> &'static str {
        match self {
            Self::Certified => "CERTIFIED",
            Self::Returned => "RETURNED",
        }
    }
}
