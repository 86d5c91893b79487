//! The job control and query API (docs/jobs.md#jobs): the repository over cc-backend's `job`, `tag`
//! and `jobtag` tables, reached through [`cc_store::Sql`], and the handlers of every job and tag
//! route. Components only mount the route tables of [`http`]; the handlers there serve `/api`
//! and `/userapi` alike.

mod archive;
mod data;
mod delete;
mod error;
pub mod http;
mod meta;
mod query;
mod repo;
mod start;
mod stop;
mod tagging;
mod tags;
#[cfg(test)]
mod test_app;

pub use data::{DataError, JobDataResponse, JobDataSource, StoredJobData};
pub use delete::{DeleteJobRequest, OmitTagged};
pub use error::{JobsError, LookupError};
pub use meta::{EditMetaRequest, MetaEntry};
pub use query::{JobQuery, QueryError};
pub use start::SanityError;
pub use stop::{StopJobRequest, StopProblem};
pub use tagging::{tagger_statuses, TaggerError, TaggerStatus};
pub use tags::{TagError, TagRequest};
