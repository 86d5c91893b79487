//! The job control and query API (spec jobs.md): the repository over cc-backend's `job`, `tag`
//! and `jobtag` tables, reached through [`cc_store::Sql`], and the handlers of every job and tag
//! route. Components only list routes; the handlers here serve `/api` and `/userapi` alike.

mod data;
mod delete;
mod error;
mod meta;
mod query;
mod repo;
mod start;
mod stop;
mod tags;
#[cfg(test)]
mod test_app;

pub use data::{get_job, job_metrics, post_job, DataError, JobData, JobDataSource, StoredJobData};
pub use delete::{delete_job_by_id, delete_job_by_request, delete_jobs_before, OmitTagged};
pub use error::{JobsError, LookupError};
pub use meta::{edit_meta_by_id, edit_meta_by_request};
pub use query::{list_jobs, used_nodes, JobQuery, QueryError};
pub use start::{start_job, SanityError};
pub use stop::{stop_job, StopProblem};
pub use tags::{add_tags, delete_tags, remove_tags, TagError};
